"""Following a run directory from another process: the window attached to a run that `hinge-train`
(or another window, or a job on another machine through a mounted folder) is training.

A RunFollower turns what the writer leaves in the run directory (metrics.csv, events.jsonl,
quality.jsonl and live/) into the same Telemetry the engine publishes in-process, so every view
works the same on either; commands go back through commands.jsonl.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.base.errors import UserError
from core.base.files import AppendedLines, json_objects, read_json, read_jsonl
from core.config import POINT_SOURCES
from core.protocol.states import FINAL_STATES
from core.protocol.telemetry import Scores, Telemetry
from core.storage import live
from core.storage.inbox import append_command
from core.storage.layout import RunLayout, is_run_dir
from core.storage.metrics_csv import MetricsParser, series, settings_from_row


class RunFollower:
    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        layout = RunLayout(self.run_dir)
        if not is_run_dir(self.run_dir):
            raise UserError(f"{self.run_dir} is not a run directory (no {layout.config.name})")
        self.config = read_json(layout.config) or {}
        self._metrics = AppendedLines(layout.metrics)
        self._events, self._quality = AppendedLines(layout.events), AppendedLines(layout.quality)
        self._samples_file = layout.live_samples
        self._parser = MetricsParser()
        self._last_event_time = 0.0
        self._histogram_step = self._samples_mtime = None
        self.heartbeat: dict | None = None

    @property
    def writer_seen_s(self) -> float | None:
        """Seconds since the writer's last heartbeat; None when it never wrote one."""
        return None if self.heartbeat is None else max(0.0, time.time() - self.heartbeat["wall_time"])

    @property
    def finished(self) -> bool:
        return self.heartbeat is None or self.heartbeat["state"] in FINAL_STATES

    @property
    def live(self) -> bool:
        """A writer is training (or paused) this run now."""
        seen = self.writer_seen_s
        return not self.finished and seen is not None and seen < live.STALE_AFTER_S

    def send(self, command) -> None:
        append_command(self.run_dir, command)

    def _rows(self) -> tuple[np.ndarray, dict]:
        return series(self._parser.rows(self._metrics.lines()))

    def _after_rewind(self) -> tuple[int, int] | None:
        """(rewound step, index of the rewind in events.jsonl) once a rewind has cut the files and recorded
        itself; None while it has not (or is halfway)."""
        if not any(t.replaced for t in (self._metrics, self._events, self._quality)):
            return None
        events = read_jsonl(self._events.path)
        rewinds = [i for i, e in enumerate(events) if e.get("kind") == "rewind" and e.get("to_step") is not None
                   and e.get("wall_time", 0) >= self._last_event_time]
        return (int(events[rewinds[-1]]["to_step"]), rewinds[-1]) if rewinds else (-1, -1)

    def poll(self) -> Telemetry | None:
        """What changed since the last poll, as one Telemetry; None while nothing is known yet."""
        rewind = self._after_rewind()
        if rewind == (-1, -1):
            return None  # the writer is between cutting the files and recording why: next poll
        if rewind is not None:  # read the cut files again from the start, from the rewound step on
            to_step, index = rewind
            for tail in (self._metrics, self._events, self._quality):
                tail.restart()
            self._parser = MetricsParser()
            steps, scalars = self._rows()
            keep = steps > to_step
            steps, scalars = steps[keep], {n: v[keep] for n, v in scalars.items()}
            events = json_objects(self._events.lines())[index:]
            quality = [q for q in json_objects(self._quality.lines()) if q.get("step", 0) > to_step]
        else:
            steps, scalars = self._rows()
            events, quality = json_objects(self._events.lines()), json_objects(self._quality.lines())
        if events:
            self._last_event_time = events[-1].get("wall_time", self._last_event_time)
        self.heartbeat = live.read_heartbeat(self.run_dir) or self.heartbeat
        beat = self.heartbeat
        if beat is None and self._parser.last_row is None:
            return None
        settings = live.settings_from(beat) if beat else settings_from_row(self._parser.last_row)
        step = beat["step"] if beat else int(self._parser.last_row["step"])
        scores = live.read_scores(self.run_dir)
        if scores is not None and scores.step != self._histogram_step:
            self._histogram_step = scores.step
        else:  # nothing new: no counts (the window keeps the last histograms it drew)
            scores = Scores(step, np.zeros(1), np.zeros(0), np.zeros(0))
        samples = None
        try:
            mtime = self._samples_file.stat().st_mtime_ns
        except OSError:
            mtime = None
        if mtime != self._samples_mtime:
            samples = live.read_samples(self.run_dir)
            self._samples_mtime = mtime if samples is not None else self._samples_mtime
        return Telemetry(
            step=step, state=self._state(), elapsed_s=beat["elapsed_s"] if beat else 0.0,
            steps_per_s=beat["steps_per_s"] if self.live else 0.0, settings=settings, steps=steps, scalars=scalars,
            scores=scores, samples=samples, sigmas=beat.get("sigmas", {}) if beat else {}, events=tuple(events),
            quality=tuple(quality), message=self._message(), health=beat.get("health", {}) if beat else {},
            info=self._info())

    def _state(self) -> str:
        return live.seen_state(self.heartbeat)

    def _message(self) -> str:
        beat = self.heartbeat
        if beat is None:
            return "Read-only: this run has no live/ heartbeat (it finished before live state was written)."
        if self.live:
            return beat.get("message", "")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(beat["wall_time"]))
        if self.finished:
            return f"Read-only: the run is {beat['state']} (last written {when})."
        return (f"The writer ({beat['host']}, pid {beat['pid']}) was last seen {self.writer_seen_s:.0f} s ago, "
                f"at {when}; commands wait in commands.jsonl until it reads them.")

    def _info(self) -> dict:
        info = dict(self.heartbeat["info"]) if self.heartbeat else {}
        info.setdefault("preset", self.config.get("preset", "?"))
        info.setdefault("is_2d", self.config.get("data", {}).get("source") in POINT_SOURCES)
        info.setdefault("eval_every", self.config.get("eval", {}).get("every", 0))
        info["run_dir"] = str(self.run_dir)
        info["attached"] = True
        return info

