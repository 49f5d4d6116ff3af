"""zhongshi: the launcher, the CLI, the demo round."""
