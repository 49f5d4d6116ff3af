"""Screening service: checks applications against the round's rule set (DIGEST §5b)."""
