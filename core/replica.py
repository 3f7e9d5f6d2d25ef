"""The other ranks of a run trained by several processes. Rank 0's session decides everything at its
control points (commands, pauses, rewinds, when to stop) and sends a Plan; the others follow it, so every
rank applies the same changes at the same step boundary. Only rank 0 writes the run directory."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from core.distributed import StopSignals, broadcast, fingerprint, gather, peer_failure


@dataclass
class Plan:
    """What every rank does until the next control point."""

    steps: int = 0
    stop: bool = False
    changes: list[tuple[str, object]] = field(default_factory=list)  # (Trainer method, its argument), in order


def agree(trainer) -> bool:
    """Whether every rank holds the same G and D, to the bit; called by all ranks together."""
    prints = gather(fingerprint([trainer.G, trainer.D]))
    return all(p == prints[0] for p in prints)


def follow(trainer) -> int:
    """A rank other than 0: train as rank 0's plans say until told to stop; the exit status."""
    StopSignals()  # a signal is rank 0's to act on: it stops every rank at the next control point
    try:
        while True:
            trainer.sync_statistics()
            trainer.drain_statistics()  # rank 0 writes and publishes the (global) statistics
            trainer.drain_histograms()
            plan = broadcast()
            for method, argument in plan.changes:
                getattr(trainer, method)(argument)
            if plan.stop:
                break
            for _ in range(plan.steps):
                trainer.train_step()
        agree(trainer)
    except RuntimeError as exc:  # a collective failed: another rank is gone
        print(f"hinge-train (rank {trainer.world.rank}): stopping at step {trainer.step}: another process "
              f"ended ({peer_failure(exc)})", file=sys.stderr, flush=True)
        return 1
    return 0
