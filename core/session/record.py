"""The run's record as the session keeps it: every event (carried in checkpoints, written to events.jsonl,
published to viewers), and the guard around every write to the run directory."""
from __future__ import annotations

import json
import time

from core.base.errors import UserError
from core.protocol.states import EventKind
from core.session.control import RunControl
from core.storage.rundir import RunDir


class RunRecord:
    def __init__(self, run_dir: RunDir, control: RunControl, step_now, events: list[dict] = ()):
        self.run_dir, self.control, self.step_now = run_dir, control, step_now  # step_now(): the trainer's step
        self.events = list(events)  # every event of the run, resumes included
        self.unpublished: list[dict] = []
        self._write_problem = ""

    def record(self, event: dict) -> dict:
        """Add an event at this step, as events.jsonl will hold it: plain JSON values (a StrEnum becomes
        its string), so checkpoints carry no objects that weights_only loading refuses, and replays compare
        equal."""
        event = json.loads(json.dumps({"step": self.step_now(), "wall_time": round(time.time(), 3), **event}))
        self.events.append(event)
        self.unpublished.append(event)
        self.write(self.run_dir.append_event, event)
        return event

    def take_unpublished(self) -> tuple:
        out, self.unpublished = tuple(self.unpublished), []
        return out

    def write(self, write, *args) -> None:
        """Write to the run directory; if that fails (a full disk), pause (or stop, headless) and say so,
        once. The files keep what could not be written, and write it once space is back."""
        try:
            write(*args)
        except UserError as exc:
            if self._write_problem:
                return
            self._write_problem = str(exc)
            self.control.write_failed(f"{exc}. Free some space, then resume.")
            self.record({"kind": EventKind.ERROR, "reason": str(exc)})
            return
        if self._write_problem:
            self._write_problem = self.control.message = ""

    def replace(self, events: list[dict]) -> None:
        """After a rewind: the record as the checkpoint held it."""
        self.events = list(events)
