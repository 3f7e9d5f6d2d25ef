"""RUN_DIR/live/: the latest state of a run for viewers in other processes (the window attached to a
run, a script), written atomically at most twice a second:

    heartbeat.json   step, state, steps/s, settings, speed-ups, sigmas, host, pid, wall time, info
    histograms.json  D(real) and D(fake) counts since the previous write, with the bin edges and the counts
                     beyond them
    samples.npz      the latest sample view (a grid, or points and D's score field for 2D)
    samples.png      the same, as a picture anyone can open
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import socket
import time
from pathlib import Path

import numpy as np

from core.base.files import read_json, write_atomically
from core.storage.layout import RunLayout
from core.pictures import save_png
from core.protocol.states import FINAL_STATES, SeenState
from core.protocol.telemetry import Samples, Scores, Settings, Telemetry

MIN_INTERVAL_S = 0.5
STALE_AFTER_S = 5.0  # a heartbeat older than this: the writer is not (or no longer) seen


class LiveWriter:
    """A publisher: give it every Telemetry; it writes live/ when MIN_INTERVAL_S has passed."""

    def __init__(self, run_dir: str | Path, points_figure=None):
        self.layout = RunLayout(run_dir)
        self.layout.live.mkdir(parents=True, exist_ok=True)
        self.points_figure = points_figure  # Samples -> an RGB picture, for 2D runs' samples.png
        self._next = 0.0
        self._scores: Scores | None = None  # since the last write
        self._samples: Samples | None = None
        self._sigmas: dict = {}
        self._state = ""
        self._last: Telemetry | None = None

    def __call__(self, t: Telemetry) -> None:
        self._scores = t.scores if self._scores is None else self._scores + t.scores
        self._samples = t.samples or self._samples
        self._sigmas = t.sigmas or self._sigmas
        self._last = t
        now = time.monotonic()
        if now < self._next and t.state == self._state:
            return
        self._next, self._state = now + MIN_INTERVAL_S, t.state
        self.flush()

    def flush(self) -> None:
        """Write what is pending now (the session's last word, whatever the interval)."""
        if self._last is None:
            return
        try:
            self._write(self._last)
        except OSError:
            pass  # a viewer's convenience: a full disk is reported by the run directory's own files

    def _write(self, t: Telemetry) -> None:
        if self._samples is not None:
            self._write_samples(self._samples)
            self._samples = None
        if self._scores is not None and self._scores.counted:
            write_atomically(self.layout.live_histograms, json.dumps(self._scores.record()).encode())
            self._scores = None
        heartbeat = {"step": t.step, "state": t.state, "steps_per_s": round(t.steps_per_s, 3),
                     "elapsed_s": round(t.elapsed_s, 3), "settings": dataclasses.asdict(t.settings),
                     "speedups": t.info.get("speedups", ""), "sigmas": self._sigmas, "message": t.message,
                     "host": socket.gethostname(), "pid": os.getpid(), "wall_time": round(time.time(), 3),
                     "health": t.health, "info": t.info}
        write_atomically(self.layout.heartbeat, json.dumps(heartbeat).encode())

    def _write_samples(self, samples: Samples) -> None:
        arrays = {f.name: getattr(samples, f.name) for f in dataclasses.fields(samples)
                  if getattr(samples, f.name) is not None}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_atomically(self.layout.live_samples, buffer.getvalue())
        picture = samples.grid if samples.grid is not None else (
            self.points_figure(samples) if self.points_figure else None)
        if picture is not None:
            save_png(picture, self.layout.live_samples_png)


def seen_state(beat: dict | None, stale_after_s: float = STALE_AFTER_S) -> str:
    """The state a viewer shows of a run from its heartbeat: the session's own when it is final or fresh."""
    if beat is None:
        return SeenState.FINISHED
    if beat["state"] in FINAL_STATES or time.time() - beat.get("wall_time", 0.0) < stale_after_s:
        return beat["state"]
    return SeenState.NOT_SEEN


def read_heartbeat(run_dir: str | Path) -> dict | None:
    return read_json(RunLayout(run_dir).heartbeat)


def read_scores(run_dir: str | Path) -> Scores | None:
    """The D-score histograms live/ holds (since the write before them); None before the first."""
    raw = read_json(RunLayout(run_dir).live_histograms)
    try:
        return None if raw is None else Scores.from_record(raw)
    except (KeyError, TypeError, ValueError):
        return None


def read_samples(run_dir: str | Path) -> Samples | None:
    try:
        with np.load(RunLayout(run_dir).live_samples) as arrays:
            values = {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError, KeyError):
        return None
    scalars = {"step": int, "cell": int, "extent": float, "fresh": bool, "count": int}
    for name, kind in scalars.items():
        if name in values:
            values[name] = kind(values[name])
    return Samples(**values)


def settings_from(heartbeat: dict) -> Settings:
    return Settings(**heartbeat["settings"])
