"""Which process this is among those that train one run, and joining or leaving their process group
(torchrun's, or hinge-train --nproc's). One process needs none of it."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from core.base.errors import ConfigError


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
