"""The window's state, Qt-free: what the engine reported, decimated for drawing.

Widgets read from here on the window's timer; nothing here knows about Qt.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.base.files import read_jsonl
from core.protocol.states import RunState, SeenState
from core.protocol.telemetry import STAT_NAMES, Samples, Scores, Settings, Telemetry
from core.storage.layout import RunLayout
from core.storage.metrics_csv import read_metrics

MARKER_KINDS = {"set_margins", "set_spectral_norm", "set_learning_rates", "set_n_dis", "set_loss", "set_augment",
                "pause", "diverged", "alert", "rewind"}


class History:
    """Scalar series of bounded size: when full, every other point is dropped and later points are kept
    at half the rate. A million steps cost the same memory and drawing time as a few thousand."""

    def __init__(self, names, capacity: int = 4096):
        self.names = tuple(names)
        self.capacity = capacity
        self.stride = 1
        self._skip = 0
        self.steps = np.zeros(0, np.int64)
        self.values = {n: np.zeros(0, np.float32) for n in self.names}

    def cut_after(self, step: int) -> None:
        """Drop the points after `step` (a rewind)."""
        keep = self.steps <= step
        self.steps, self.values = self.steps[keep], {n: v[keep] for n, v in self.values.items()}

    def extend(self, steps: np.ndarray, scalars: dict) -> None:
        keep = (np.arange(len(steps)) + self._skip) % self.stride == 0
        self._skip = (self._skip + len(steps)) % self.stride
        self.steps = np.concatenate([self.steps, steps[keep]])
        for n in self.names:
            self.values[n] = np.concatenate([self.values[n], np.asarray(scalars[n], np.float32)[keep]])
        if len(self.steps) > self.capacity:
            self.steps = self.steps[::2]
            self.values = {n: v[::2] for n, v in self.values.items()}
            self.stride *= 2

    def __len__(self):
        return len(self.steps)


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average (weight 0: raw, 0.99: very smooth).

    Non-finite points are left out of the average and kept as they are. Vectorized in blocks
    short enough that weight ** -block stays finite in float64.
    """
    if weight <= 0 or len(values) == 0:
        return values
    x = np.asarray(values, np.float64)
    finite = np.isfinite(x)
    clean = x[finite]
    ema = np.empty_like(clean)
    block = max(1, int(600 / -np.log(weight)))
    last = 0.0
    for start in range(0, len(clean), block):
        chunk = clean[start: start + block]
        powers = weight ** np.arange(1, len(chunk) + 1)
        ema[start: start + len(chunk)] = powers * (last + (1 - weight) * np.cumsum(chunk / powers))
        last = ema[start + len(chunk) - 1]
    out = x.copy()
    out[finite] = ema / (1 - weight ** np.arange(1, len(clean) + 1))
    return out


class RunModel:
    def __init__(self):
        self.margins_linked = False  # the user's choice, kept across runs: editing one margin sets both
        self.startup: dict[str, float] = {}  # when each stage of the window's and its engine's start was reached
        self.reset()

    def reset(self) -> None:
        self.history = History(STAT_NAMES)
        self.step = 0
        self.state = SeenState.STARTING
        self.steps_per_s = 0.0
        self.elapsed_s = 0.0
        self.settings: Settings | None = None
        self.info: dict = {}
        self.samples: Samples | None = None
        self.sigmas: dict[str, float] = {}
        self.scores: Scores | None = None  # the latest D(real) and D(fake) histograms
        self.inside_shares = None  # (real, fake): the share inside each margin over the histograms' steps
        self.markers: list[dict] = []
        self.quality: list[dict] = []  # every evaluation of the run, oldest first
        self.rewinds = 0  # how many times the run went back; each took what came after out of every view
        self.health: dict = {}  # detector -> {state, signal, threshold, since}, as the engine last judged
        self.health_trace: dict[str, list[tuple[int, float]]] = {}  # detector -> (step, signal) over the run
        self.log: list[dict] = []  # every event, for the status line and tooltips
        self.message = ""
        self.failure = None
        self.version = 0  # bumps on every change; widgets redraw when it moved
        self.samples_version = 0

    def ingest(self, t: Telemetry) -> None:
        self.step, self.state, self.steps_per_s, self.elapsed_s = t.step, t.state, t.steps_per_s, t.elapsed_s
        self.settings, self.info, self.message = t.settings, t.info, t.message
        for event in t.events:
            if event["kind"] == "rewind":  # before this telemetry's rows, which continue from the rewound step
                self._rewind(int(event["to_step"]))
        self._trace_health(t.step, t.health)
        if len(t.steps):
            self.history.extend(t.steps, t.scalars)
        if t.scores.counted:
            self.scores = t.scores
            if len(t.steps):  # the same steps as the histograms: each step's share is over an equal batch
                self.inside_shares = (float(np.mean(t.scalars["real_violation_rate"])),
                                      float(np.mean(t.scalars["fake_violation_rate"])))
        if t.samples is not None:
            self.samples = t.samples
            self.samples_version += 1
        if t.sigmas:
            self.sigmas = t.sigmas
        self.quality.extend(t.quality)
        for event in t.events:
            self.log.append(event)
            if event["kind"] in MARKER_KINDS:
                self.markers.append(event)
        self.version += 1

    def _rewind(self, step: int) -> None:
        """The run went back to `step`: the branch after it (curves, scores, markers, alerts, health signals)
        is out of every view; its files are in the run's abandoned/ folder."""
        self.history.cut_after(step)
        self.quality = [q for q in self.quality if q.get("step", 0) <= step]
        self.markers = [m for m in self.markers if m.get("step", 0) <= step]
        self.log = [e for e in self.log if e.get("step", 0) <= step]
        for trace in self.health_trace.values():
            trace[:] = [(s, v) for s, v in trace if s <= step]
        self.rewinds += 1

    def _trace_health(self, step: int, health: dict) -> None:
        if not health:
            return
        self.health = health
        for name, reading in health.items():
            trace = self.health_trace.setdefault(name, [])
            signal = reading.get("signal")
            if signal is not None and (not trace or trace[-1] != (step, signal)):
                trace.append((step, signal))
                del trace[:-4096]

    @property
    def alerts(self) -> list[dict]:
        """The alert events of the run, each with 'cleared_at' (the step it cleared) or None while active."""
        out, open_ = [], {}
        for event in self.log:
            if event["kind"] == "alert":
                open_[event["name"]] = {**event, "cleared_at": None}
                out.append(open_[event["name"]])
            elif event["kind"] == "alert_cleared" and event["name"] in open_:
                open_.pop(event["name"])["cleared_at"] = event["step"]
        return out

    def margins_for_edit(self, real: float | None = None, fake: float | None = None) -> tuple[float, float]:
        """The margins to send when the user sets one: both the same if linked, else the other as echoed."""
        if self.margins_linked:
            real = fake = real if real is not None else fake
        s = self.settings
        return (s.margin_real if real is None else real, s.margin_fake if fake is None else fake)

    def load_history(self, run_dir: str | Path, through_step: int, already=()) -> None:
        """What a resumed run recorded up to `through_step`: curves from metrics.csv, scores from
        quality.jsonl, markers from events.jsonl (but the events `already` delivered); read once, so a
        resumed run shows its whole past."""
        layout = RunLayout(run_dir)
        rows = read_metrics(layout.metrics, through_step)
        if rows is not None:
            steps, scalars = rows
            self.history.extend(steps, scalars)
        self.quality = [r for r in read_jsonl(layout.quality) if r.get("step", 0) <= through_step]
        for event in read_jsonl(layout.events):
            if event.get("step", 0) <= through_step and event not in already:
                self.log.append(event)
                if event.get("kind") in MARKER_KINDS:
                    self.markers.append(event)
        self.version += 1

    def fail(self, failure) -> None:
        self.failure = failure
        self.state = SeenState.FAILED
        self.version += 1

    @property
    def eta_s(self) -> float:
        """The engine's estimate (at the speed of its last few minutes), while running."""
        eta = self.info.get("eta_s")
        return float(eta) if eta is not None and self.state == RunState.RUNNING else float("nan")
