"""Where a session's commands come from, in the order they are applied at a step boundary: what the
session queued itself, the run directory's inbox (commands.jsonl), the window's inbox, and the commands of
a replayed record at their steps."""
from __future__ import annotations

import collections
import time
from typing import Callable

from core.base.errors import UserError
from core.protocol import commands as C
from core.protocol.states import EventKind
from core.storage.inbox import CommandFile
from core.storage.layout import COMMANDS

Inbox = Callable[[float], object]  # receive(timeout_s) -> a command, or None when none came


class CommandIntake:
    def __init__(self, trainer, run_dir, record, control, dispatcher, replay: list[dict] = ()):
        self.trainer, self.record, self.control, self.dispatcher = trainer, record, control, dispatcher
        self._command_file = CommandFile(run_dir.path)
        self._next_read = 0.0
        self._replay = collections.deque(sorted((e for e in replay if C.BY_KIND.get(e["kind"]) in C.STATE_CHANGING),
                                                key=lambda e: e["step"]))

    @property
    def next_replayed_step(self) -> int | None:
        return self._replay[0]["step"] if self._replay else None

    def take(self, inbox: Inbox | None, wait: float) -> None:
        """Apply what has come, waiting up to `wait` seconds for the window's next command."""
        dispatcher, control = self.dispatcher, self.control
        dispatcher.run_queued()
        self._read_command_file()
        if inbox is None:
            if wait:
                time.sleep(wait)
        else:
            command = inbox(wait)
            while command is not None:
                dispatcher.handle(command)
                command = None if control.stopping else inbox(0.0)
        step = self.trainer.step
        while self._replay and self._replay[0]["step"] <= step:
            dispatcher.handle(C.from_event(self._replay.popleft()))

    def _read_command_file(self) -> None:
        """The lines appended to commands.jsonl, read at most once per publishing interval."""
        now = time.monotonic()
        if now < self._next_read or self.control.stopping:
            return
        self._next_read = now + self.trainer.cfg.train.publish_every_s
        for line, command, ident in self._command_file.read():
            if isinstance(command, UserError):
                self.record.record({"kind": EventKind.REJECTED, "command": COMMANDS, "line": line,
                                    "reason": str(command), **({"id": ident} if ident else {})})
            else:
                self.dispatcher.handle(command, source=f"{COMMANDS}:{line}", ident=ident)
            if self.control.stopping:
                return
