"""Finished experiments, kept runnable but not installed with the package."""
