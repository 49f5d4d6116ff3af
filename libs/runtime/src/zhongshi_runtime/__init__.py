"""The runtime kit shared by every zhongshi service."""
