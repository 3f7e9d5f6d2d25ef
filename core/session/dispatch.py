"""Commands applied at a step boundary, through a registry from command type to handler. A handler returns
what it echoes (a dict, or None) or raises UserError to refuse the command; the echo, or the refusal with
its reason, goes to events.jsonl. Anything else a handler raises is a bug, and it is not caught."""
from __future__ import annotations

import collections
from typing import Callable

from core.base.errors import UserError
from core.protocol import commands as C
from core.protocol.states import EventKind
from core.session.record import RunRecord


class Dispatcher:
    def __init__(self, record: RunRecord):
        self.record = record
        self.handlers: dict[type, Callable] = {}
        self.queued: collections.deque = collections.deque()  # (command, source, follow-ups) the session asked for

    def register(self, command_type: type, handler: Callable) -> None:
        self.handlers[command_type] = handler

    def handle(self, command, source: str | None = None, then: list[tuple[object, str]] = (),
               ident: str | None = None) -> bool:
        """Apply one command and record what happened (and, for one from the inbox file, which line asked
        for it, with the id the line gave); then what its handler queued, then `then`. False when it was
        refused."""
        origin = {"source": source} if source else {}
        origin.update({"id": ident} if ident else {})
        handler, waiting = self.handlers[type(command)], len(self.queued)
        try:
            echoed = handler(command)
        except UserError as exc:
            self.record.record({"kind": EventKind.REJECTED, "command": command.kind, "reason": str(exc), **origin})
            return False
        self.record.record({**C.to_event(command), **(echoed or {}), **origin})
        for follow_up in reversed(then):  # after what the handler queued first, before what was waiting
            self.queued.insert(len(self.queued) - waiting, (*follow_up, []))
        self.run_queued()
        return True

    def enqueue(self, command, source: str, then: list[tuple[object, str]] = (), first: bool = False) -> None:
        """A command the session itself asks for, applied at the next boundary like any other (`first`:
        before what is queued already); `then`: commands to apply right after it, if it was applied."""
        item = (command, source, list(then))
        self.queued.appendleft(item) if first else self.queued.append(item)

    def run_queued(self) -> None:
        while self.queued:
            self.handle(*self.queued.popleft())
