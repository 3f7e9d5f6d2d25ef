"""Per-step statistics, kept on the device while training and read at the session's publishing interval:
the one place a training run syncs with the host."""
from __future__ import annotations

import time

import numpy as np
import torch

from core.distributed.collectives import sum_over_ranks_
from core.distributed.world import World
from core.protocol.telemetry import STAT_NAMES, Scores
from core.training.losses import step_statistics

HIST_BINS = 160
HIST_RANGE = (-10.0, 10.0)  # bins of 0.125; scores beyond are counted apart, not piled into the edge bins


class StepStatistics:
    """Each step's statistics (ordered as STAT_NAMES) and the histograms of D's real and fake scores."""

    def __init__(self, device: torch.device, world: World):
        self.world = world
        self.edges = np.linspace(*HIST_RANGE, HIST_BINS + 1)
        self._rows: list[torch.Tensor] = []
        self._times: list[float] = []
        self._hist_real = torch.zeros(HIST_BINS, device=device)
        self._hist_fake = torch.zeros(HIST_BINS, device=device)
        self._beyond = torch.zeros(4, device=device)  # real below, real above, fake below, fake above
        self._unsynced = 0  # steps recorded since the ranks last summed their statistics

    def record(self, d_real, d_fake, real_loss, fake_loss, g_loss, margin_real, margin_fake) -> None:
        """One step's numbers, as tensors on the device: nothing here waits for it."""
        self._rows.append(step_statistics(d_real, d_fake, real_loss, fake_loss, g_loss, margin_real, margin_fake))
        self._times.append(time.time())
        lo, hi = HIST_RANGE
        self._hist_real += torch.histc(d_real, HIST_BINS, lo, hi)  # histc leaves out what is beyond the range
        self._hist_fake += torch.histc(d_fake, HIST_BINS, lo, hi)
        self._beyond += torch.stack([(d_real < lo).sum(), (d_real > hi).sum(), (d_fake < lo).sum(),
                                     (d_fake > hi).sum()])
        self._unsynced += 1

    def __len__(self) -> int:
        return len(self._rows)

    def sync(self) -> None:
        """In several processes: every rank's statistics since the last call become the global batch's
        (each statistic is a mean over equal shares; histogram counts add). Called by all ranks together,
        at the session's control points, never inside a step."""
        if not self.world.distributed or not self._unsynced:
            return
        fresh = self._rows[-self._unsynced:]
        table = sum_over_ranks_(torch.stack(fresh)).div_(self.world.size)
        self._rows[-self._unsynced:] = list(table)
        sum_over_ranks_(self._hist_real)
        sum_over_ranks_(self._hist_fake)
        sum_over_ranks_(self._beyond)
        self._unsynced = 0

    def drain(self, last_step: int):
        """Steps (the last of them last_step), wall times and scalar series recorded since the last drain, as
        numpy; then clear them."""
        if self.world.distributed and self._unsynced:
            raise RuntimeError("statistics read between control points would be this rank's alone")
        n = len(self._rows)
        steps = np.arange(last_step - n + 1, last_step + 1)
        table = torch.stack(self._rows).float().cpu().numpy() if n else np.zeros((0, len(STAT_NAMES)), np.float32)
        times = np.asarray(self._times)
        self._unsynced = 0
        self._rows.clear()
        self._times.clear()
        return steps, times, {name: table[:, i] for i, name in enumerate(STAT_NAMES)}

    def drain_scores(self, step: int) -> Scores:
        """D(real) and D(fake) counts per bin since the last drain, and those beyond the bins' range."""
        real, fake, beyond = [t.cpu().numpy().copy() for t in (self._hist_real, self._hist_fake, self._beyond)]
        for t in (self._hist_real, self._hist_fake, self._beyond):
            t.zero_()
        beyond = beyond.reshape(2, 2)
        return Scores(step, self.edges, real, fake, beyond[0], beyond[1])

    def forget_since(self, n_kept: int) -> None:
        """Drop what was recorded after the first n_kept rows (a step that is being taken again)."""
        del self._rows[n_kept:], self._times[n_kept:]
        self._unsynced = min(self._unsynced, len(self._rows))

    def forget_unsynced(self) -> None:
        """Drop what was recorded since the last control point (and the histogram counts not yet read)."""
        self.forget_since(len(self._rows) - self._unsynced)
        self._unsynced = 0
        for t in (self._hist_real, self._hist_fake, self._beyond):
            t.zero_()
