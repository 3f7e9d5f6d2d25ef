"""One dock widget per file. Each reads the RunModel in `refresh()` and sends commands through a callable."""
