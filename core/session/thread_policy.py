"""How many CPU threads the training step uses: pinned by train.threads, or (0) following the cores other
processes leave free (core.base.cpu.ThreadGovernor). Each change is an event, so a replay uses it too: on a
CPU the thread count changes how sums are split, so the last bits of the weights."""
from __future__ import annotations

from core.base.cpu import ThreadGovernor
from core.config import check_threads
from core.protocol import commands as C
from core.session.parts import Part


class ThreadPolicy(Part):
    def __init__(self, trainer, record, changes):
        self.trainer, self.record, self.changes = trainer, record, changes
        self.governor = self._new_governor() if not trainer.cfg.train.threads else None

    def _new_governor(self) -> ThreadGovernor | None:
        """On the CPU of one process; several processes keep their share of the cores."""
        t = self.trainer
        return ThreadGovernor(threads=t.threads) if t.device.type == "cpu" and not t.world.distributed else None

    def on_start(self) -> None:
        if self.governor is not None:
            self.record.record({"kind": C.SetThreads.kind, "threads": self.trainer.threads, "auto": True})

    def after_steps(self) -> None:
        if self.governor is None or not self.governor.due():
            return
        change = self.governor.poll()
        if change is not None:
            threads, busy_elsewhere = change
            self.changes.apply(C.SetThreads(threads))
            self.record.record({"kind": C.SetThreads.kind, "threads": threads, "auto": True,
                                "busy_elsewhere": round(busy_elsewhere, 2)})

    def set_threads(self, command: C.SetThreads) -> dict:
        """A number pins the thread count; 0 hands it back to the governor."""
        check_threads(command.threads, allow_auto=True)
        self.governor = self._new_governor() if command.threads == 0 else None
        self.changes.apply(C.SetThreads(command.threads or self.trainer.threads))
        return {"threads": self.trainer.threads, "auto": self.governor is not None}
