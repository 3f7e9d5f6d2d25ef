"""Training in several processes with torch.distributed: which process this is, BatchNorm over the global
batch, and the few collectives the session uses at its control points. One process needs none of it."""
from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from core.errors import ConfigError


@dataclass(frozen=True)
class World:
    """This process's place among the processes that train one run."""

    rank: int = 0
    size: int = 1
    local_size: int = 1  # processes on this machine

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def rows(self, batch: int) -> slice:
        """This rank's rows of a global batch."""
        check_divides(batch, self.size)
        share = batch // self.size
        return slice(self.rank * share, (self.rank + 1) * share)

    def default_threads(self, cores: int) -> int:
        return max(1, cores // self.local_size)


ONE_PROCESS = World()


def check_divides(batch: int, size: int) -> None:
    if batch % size:
        raise ConfigError(f"train.batch_size ({batch}) is the global batch and must divide evenly among "
                          f"{size} processes; choose a batch size that is a multiple of {size}")


def check_world(cfg, size: int) -> None:
    """What several processes cannot train: an uneven batch split, torch.compile (one process only)."""
    if size > 1:
        check_divides(cfg.train.batch_size, size)
        if cfg.train.compile != "off":
            raise ConfigError("train.compile works in one process only; set it to off to train in several")


def launched() -> bool:
    """True inside a process that torchrun (or hinge-train --nproc) started; it joins the process group
    even alone (world size 1 then trains as one process, through the launcher's backend)."""
    return dist.is_torchelastic_launched()


def join(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group torchrun set up (gloo on the CPU, NCCL on CUDA); this rank's device."""
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    world = World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return world, device


def leave(finished: bool) -> None:
    """Leave the process group; after a finished run, once every rank is done with it (a rank that tears
    down its connections while another still uses them can abort)."""
    if finished:
        try:
            dist.barrier()
        except RuntimeError:  # another rank is gone already
            pass
    dist.destroy_process_group()


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


class _SumOverRanks(torch.autograd.Function):
    """A sum over ranks that gradients flow back through: each rank's input feeds every rank's output, so
    its gradient is the sum of every rank's output gradient."""

    @staticmethod
    def forward(ctx, tensor):
        return sum_over_ranks_(tensor.clone())

    @staticmethod
    def backward(ctx, grad):
        return sum_over_ranks_(grad.clone())


class AllReduceBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch, summed over every rank.

    torch's SyncBatchNorm does this on CUDA only (torch 2.14 refuses CPU tensors), and the CPU (gloo) is
    where every test runs, so one implementation serves both backends. Its state dict is BatchNorm2d's:
    checkpoints move between world sizes. Two passes (mean, then squared deviations), as BatchNorm's own
    kernel, so a world of N matches one process to float precision.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        dtype, x = x.dtype, x.float()  # statistics in fp32 under bf16 autocast, as BatchNorm2d's own kernel
        dims = (0, 2, 3)
        count = torch.tensor(float(x.numel() // x.shape[1]), device=x.device)
        totals = _SumOverRanks.apply(torch.cat([x.sum(dims), count.view(1)]))
        n = totals[-1]
        mean = totals[:-1] / n
        centred = x - mean.view(1, -1, 1, 1)
        var = _SumOverRanks.apply(centred.square().sum(dims)) / n
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), n.detach())
        out = centred * torch.rsqrt(var + self.eps).view(1, -1, 1, 1)
        if self.affine:
            out = out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return out.to(dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean, var, n) -> None:
        self.num_batches_tracked += 1
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.lerp_(mean, factor)
        self.running_var.lerp_(var * n / (n - 1), factor)


class StopSignals:
    """In a worker, SIGINT and SIGTERM (what torchrun sends to end it) ask for a stop at the next control
    point instead of interrupting a step: rank 0 then saves a consistent checkpoint and every rank ends."""

    def __init__(self):
        self.received: str | None = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._note)

    def _note(self, signum, frame) -> None:
        self.received = self.received or signal.Signals(signum).name
