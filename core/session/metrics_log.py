"""metrics.csv as the session writes it: the trainer's statistics drained, one row a step with the settings
that step was trained with, and the step a loss first became NaN or Inf."""
from __future__ import annotations

import numpy as np

from core.protocol.states import EventKind, RunState
from core.session.record import RunRecord


class MetricsLog:
    def __init__(self, trainer, record: RunRecord):
        self.trainer, self.record = trainer, record
        self._pending: list[tuple[np.ndarray, dict]] = []  # written to metrics.csv, not yet published

    def flush(self) -> None:
        """Write the steps trained since the last flush. Called before anything changes the settings, so the
        rows so far keep the settings they were trained with."""
        steps, times, scalars = self.trainer.drain_statistics()
        if not len(steps):
            return
        self.record.write(self.record.run_dir.append_metrics, steps, times, scalars, self.trainer.settings)
        self._pending.append((steps, scalars))
        control = self.record.control
        finite = np.isfinite(scalars["d_loss"]) & np.isfinite(scalars["g_loss"])
        if control.state != RunState.DIVERGED and not finite.all():
            bad = int(steps[~finite][0])
            control.diverge(bad)
            self.record.record({"kind": EventKind.DIVERGED, "at_step": bad})

    def take(self) -> tuple[np.ndarray, dict]:
        """(steps, {statistic: values}) flushed since the last take: what the next publication carries."""
        pending, self._pending = self._pending, []
        if not pending:
            return np.zeros(0, int), {}
        return np.concatenate([s for s, _ in pending]), {k: np.concatenate([sc[k] for _, sc in pending])
                                                          for k in pending[0][1]}
