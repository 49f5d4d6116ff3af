"""zhongshi console: the web front door."""
