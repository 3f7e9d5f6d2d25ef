"""The few collectives a session uses at its control points, and what a failed one means."""
from __future__ import annotations

import re
import signal

import torch
import torch.distributed as dist
from torch import nn


def broadcast(obj=None):
    """Rank 0's object, on every rank (pickled; for small plans and checkpoints)."""
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sum_over_ranks_(tensor: torch.Tensor) -> torch.Tensor:
    dist.all_reduce(tensor)
    return tensor


def fingerprint(modules: list[nn.Module]) -> list[str]:
    """One number per tensor of the modules' state, written exactly (NaN too): replicas that agree have
    equal fingerprints."""
    return [repr(float(t.double().square().sum())) for m in modules for t in m.state_dict().values()
            if t.is_floating_point()]


def gather(obj) -> list:
    """Every rank's object, on every rank."""
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def peer_failure(exc: BaseException) -> str:
    """The gist of a failed collective's error: gloo's and NCCL's carry source locations and advice."""
    text = re.sub(r"\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    return text.split(". ")[0][:160] or type(exc).__name__


class StopSignals:
    """In a worker, SIGINT and SIGTERM (what torchrun sends to end it) ask for a stop at the next control
    point instead of interrupting a step: rank 0 then saves a consistent checkpoint and every rank ends."""

    def __init__(self):
        self.received: str | None = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._note)

    def _note(self, signum, frame) -> None:
        self.received = self.received or signal.Signals(signum).name
