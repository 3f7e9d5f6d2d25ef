"""A run's files: the run directory's record (config, metrics, events, scores, histograms, frames), its
inbox, its live view for other processes, reading a run back, and pictures. No torch: the window's
process reads and writes these too."""
