"""Review: expert pool, panels, scoring, ranking and decisions."""
