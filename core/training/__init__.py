"""The engine proper (torch): losses, models, spectral norm, data, the Trainer and its one training step,
checkpoints, and views of a run for people."""
