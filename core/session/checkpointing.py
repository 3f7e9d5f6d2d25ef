"""When a session saves: checkpoints/step-N.pt (with last.pt) every train.checkpoint_every steps, last.pt
alone at least every train.autosave_minutes, and at the end; never from a diverged state."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from core.base.errors import UserError
from core.protocol.states import EventKind, RunState
from core.session.parts import Part
from core.training.checkpoint import save_checkpoint


@dataclass(frozen=True)
class Saved:
    step: int
    with_step_file: bool  # step-N.pt was written beside last.pt


class CheckpointPolicy(Part):
    def __init__(self, trainer, run_dir, record, control, metrics, time_trained, clock=time.monotonic,
                 healthy=lambda: None):
        """healthy: the last step before the run's latest health alert (None without one): the checkpoint a
        rewind to before it needs is never pruned."""
        self.trainer, self.run_dir, self.record, self.control = trainer, run_dir, record, control
        self.healthy = healthy
        self.metrics, self.time_trained, self.clock = metrics, time_trained, clock
        self.saved: Saved | None = None  # what last.pt holds, when this session wrote it
        self._next_autosave = self._autosave_due()

    def _autosave_due(self) -> float:
        return self.clock() + 60 * self.trainer.cfg.train.autosave_minutes

    def after_steps(self) -> None:
        if self.trainer.step % self.trainer.cfg.train.checkpoint_every == 0:
            self.autosave()
        elif self.clock() >= self._next_autosave:
            self.autosave(keep_step=False)

    def on_finish(self) -> None:
        self.autosave()

    def on_close(self) -> None:
        self.autosave()

    def on_rewind(self, step: int) -> None:
        self.saved = None

    def autosave(self, keep_step: bool = True) -> None:
        """A routine checkpoint, unless this step is saved already; skipped for a diverged run, a failure
        recorded rather than raised."""
        self._next_autosave = self._autosave_due()
        step = self.trainer.step
        if self.saved is not None and self.saved.step == step and (self.saved.with_step_file or not keep_step):
            return
        try:
            self.save(keep_step=keep_step)
        except UserError as exc:
            if self.control.state != RunState.DIVERGED:
                self.record.record({"kind": EventKind.ERROR, "reason": str(exc)})

    def save(self, path: str | None = None, keep_step: bool = True) -> Path:
        """last.pt and step-N.pt (or only last.pt, or the given path); UserError if it cannot be written."""
        self.metrics.flush()
        if self.control.state == RunState.DIVERGED:
            raise UserError("not saving a checkpoint of a diverged run")
        state = {**self.trainer.state_dict(), "events": self.record.events, "train_seconds": self.time_trained.seconds}
        target = Path(path) if path else self.run_dir.last_checkpoint
        try:
            save_checkpoint(state, target)
        except OSError as exc:
            raise UserError(f"could not save a checkpoint to {target}: {exc.strerror or exc}") from None
        if path:
            return target
        self.saved = Saved(self.trainer.step, keep_step)
        train = self.trainer.cfg.train
        return self.run_dir.keep_step_copy(self.trainer.step, train.keep_checkpoints, train.keep_every,
                                           self.healthy()) if keep_step else target
