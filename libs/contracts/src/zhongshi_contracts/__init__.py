"""The public contract every zhongshi service and subscriber shares."""
