"""Analyses of a run's record, for people (no torch: the window's process draws them too)."""
