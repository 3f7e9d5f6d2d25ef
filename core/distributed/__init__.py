"""Training in several processes with torch.distributed: this process's place among them, BatchNorm over
the global batch, and the collectives of the control points."""
