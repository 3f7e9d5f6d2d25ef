"""Which dock redraws when: telemetry is taken at every tick of the window's timer, but at most one dock
redraws per tick and each at most every DOCK_PERIOD_S (or its own REDRAW_PERIOD_S), in turn, so the engine
keeps the cores; a dock that is closed or behind a tab waits; a change of state shows everywhere at once."""
from __future__ import annotations

import time

DOCK_PERIOD_S = 0.5


class RedrawTurns:
    def __init__(self, docks):
        self.docks = docks
        self._next = 0
        self._next_redraw = 0.0
        self._drawn_at: dict = {}
        self._drawn_state = ""

    def tick(self, model) -> None:
        if model.state != self._drawn_state:
            self._drawn_state = model.state
            for dock in self.docks:
                dock.refresh(model)
            return
        now = time.monotonic()
        if now < self._next_redraw:
            return
        dock = self.docks[self._next]
        self._next = (self._next + 1) % len(self.docks)
        self._next_redraw = now + DOCK_PERIOD_S / len(self.docks)
        due = now - self._drawn_at.get(dock, 0.0) >= getattr(dock, "REDRAW_PERIOD_S", DOCK_PERIOD_S)
        if due and not dock.visibleRegion().isEmpty():
            dock.refresh(model)
            self._drawn_at[dock] = now
