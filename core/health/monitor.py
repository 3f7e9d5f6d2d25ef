"""The health watch's memory: the detectors' windows of steps, the sample views and best scores it has
seen, their readings, and when an alert is raised and when it clears."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from core.config import HealthConfig
from core.health.detectors import (Finding, RunFacts, collapse_signal, coverage_of, coverage_share, d_memorises,
                                   d_overpowers, divergence_limit, diverging, diversity_of, g_collapse, inside_share,
                                   mean_abs_score, memorise_gap, not_covering, stalled)
from core.protocol.states import EventKind

DETECTORS = ("d_overpowers", "g_collapse", "not_covering", "d_memorises", "diverging", "stalled")
WINDOW_STATS = ("d_loss", "g_loss", "d_real_mean", "d_fake_mean", "real_violation_rate", "fake_violation_rate")


@dataclass
class Reading:
    """A detector's state as the Health dock shows it."""

    state: str  # "ok", "alert", "warming up" (not enough steps yet), "off" (nothing to judge it on)
    signal: float | None = None  # the number the detector compares with its threshold
    threshold: float | None = None
    since: int | None = None  # first step of the window that shows the alert
    note: str = ""  # why it is off


class StepWindow:
    """The last `size` steps of the statistics the detectors read."""

    def __init__(self, size: int):
        self.size = size
        self.steps = np.zeros(0, np.int64)
        self.values = {name: np.zeros(0, np.float32) for name in WINDOW_STATS}

    def extend(self, steps: np.ndarray, scalars: dict) -> None:
        if not len(steps):
            return
        self.steps = np.concatenate([self.steps, steps])[-self.size:]
        for name in WINDOW_STATS:
            self.values[name] = np.concatenate([self.values[name], scalars[name]])[-self.size:]

    def last(self, n: int) -> dict | None:
        """The last n steps' statistics (with 'steps'), or None while fewer were seen."""
        if len(self.steps) < n:
            return None
        return {"steps": self.steps[-n:], **{name: v[-n:] for name, v in self.values.items()}}


@dataclass
class Alert:
    name: str
    step: int
    since: int
    finding: Finding

    def event(self) -> dict:
        f = self.finding
        return {"kind": EventKind.ALERT, "name": self.name, "step": self.step, "since": self.since, "message": f.message,
                "evidence": f.evidence, "suggestion": f.suggestion, "action": f.action}


class HealthMonitor:
    """Runs the detectors on what the session drains; `update` returns the events to record (alert raised,
    alert cleared), in order."""

    def __init__(self, health: HealthConfig, evaluated: bool, held_out: bool = False):
        self.health, self.evaluated = health, evaluated  # evaluated: scores come (eval.every), so g_collapse judges
        self.held_out = held_out  # images are held out (data.holdout), so d_memorises judges
        self.probes: list[dict] = []  # d_memorises' last probes of D
        self.window = StepWindow(max(health.window, health.diverge_window, health.stall_window))
        self.views: list = []  # (step, fixed-z sample array in [0, 1] units, a fixed sample of G's weights)
        self.active: dict[str, Alert] = {}
        self.best: dict = {}  # the run's best diversity and coverage ("present") so far
        self.coverage: list[tuple[int, int]] = []  # (step, classes or modes present) of each evaluation
        self.readings = {name: Reading("warming up") for name in DETECTORS}
        self._healthy_since: dict[str, int] = {}  # an active alert's detector: first step it saw no failure
        if not evaluated:
            self.readings["g_collapse"] = self.readings["not_covering"] = Reading("off", note="no scores: eval.every is 0")
        if not held_out:
            self.readings["d_memorises"] = Reading("off", note="no held-out images: data.holdout is 0")

    def reset(self) -> list[dict]:
        """Forget the windows (after a rewind); the active alerts clear."""
        cleared = [self._cleared(name, "rewound") for name in list(self.active)]
        self.__init__(self.health, self.evaluated, self.held_out)
        return cleared

    def observe_view(self, step: int, picture: np.ndarray, weights: np.ndarray) -> None:
        self.views.append((step, np.asarray(picture, np.float32), np.asarray(weights, np.float64)))
        horizon = step - self.health.stall_window
        while len(self.views) > 2 and self.views[1][0] <= horizon:  # keep one view at or before the horizon
            self.views.pop(0)

    def update(self, run: RunFacts, step: int, steps: np.ndarray, scalars: dict, quality=(), probe=None) -> list[dict]:
        """probe: D's scores on training, held-out and fake images (d_memorises), when one was taken."""
        h = self.health
        if not h.enabled:
            return []
        self.window.extend(steps, scalars)
        events = []
        if len(steps):
            w = self.window.last(h.window)
            if run.settings.loss != "wasserstein":
                found = w and d_overpowers(w, h, run, "d_overpowers" in self.active)
                events += self._judge("d_overpowers", step, found, w, w and inside_share(w), h.overpower_inside)
            else:  # stands down, and says why; an alert it raised under another loss clears
                events += self._stand_down("d_overpowers", step, "wasserstein: a critic's loss has no zero to sink to")
            w = self.window.last(h.diverge_window)
            found = w and diverging(w, h, run, "diverging" in self.active)
            events += self._judge("diverging", step, found, w, w and mean_abs_score(w), divergence_limit(h, run.settings))
            w, change = self.window.last(h.stall_window), self._view_change(h.stall_window)
            ready = w if change is not None else None
            events += self._judge("stalled", step, ready and stalled(ready, *change, h, run), ready,
                                  change and change[0], h.stall_sample_change)
        if probe is not None and self.held_out:
            self.probes = [*self.probes, probe][-h.memorise_probes:]
            over = [p["step"] for p in self.probes if (memorise_gap([p]) or 0.0) > h.memorise_gap]
            since = over[0] if over else self.probes[-1]["step"]  # the first probe that showed it
            ready = {"steps": [since]} if len(self.probes) == h.memorise_probes else None
            found = ready and d_memorises(self.probes, h, run, "d_memorises" in self.active)
            events += self._judge("d_memorises", int(probe["step"]), found, ready, ready and memorise_gap(self.probes),
                                  h.memorise_gap)
        for result in quality:
            if "error" not in result:
                step_of = int(result["step"])
                events += self._judge("g_collapse", step_of, g_collapse(result, self.best, h, run),
                                      {"steps": [step_of]}, collapse_signal(result), h.collapse_diversity)
                events += self._judge("not_covering", step_of, not_covering(result, self.coverage, h, run),
                                      {"steps": [step_of]}, coverage_share(result), h.cover_share)
                self._remember_best(result)
        return events

    def _remember_best(self, quality: dict) -> None:
        diversity, coverage = diversity_of(quality), coverage_of(quality)
        if diversity is not None:
            self.best["diversity"] = max(diversity, self.best.get("diversity", diversity))
        if coverage is not None:
            self.best["present"] = max(coverage[0], self.best.get("present", coverage[0]))
            self.coverage.append((int(quality["step"]), coverage[0]))

    def _view_change(self, window: int) -> tuple[float, float] | None:
        """Over the last `window` steps: the mean absolute change of the fixed-z samples, and the change of G's
        sampled weights as a share of their size (None: not yet seen)."""
        if len(self.views) < 2 or self.views[-1][0] - self.views[0][0] < window:
            return None
        (_, before, weights_before), (_, now, weights_now) = self.views[0], self.views[-1]
        if before.shape != now.shape or weights_before.shape != weights_now.shape:
            return None
        size = max(float(np.linalg.norm(weights_before)), 1e-12)
        return float(np.abs(now - before).mean()), float(np.linalg.norm(weights_now - weights_before)) / size

    def _judge(self, name, step, finding, window, signal, threshold) -> list[dict]:
        if window is None:
            return []
        signal = None if signal is None else float(signal)
        was = self.active.get(name)
        if finding is None:
            if was is not None:  # an alert clears after a whole window without the failure, so it does not flap
                self._healthy_since.setdefault(name, step)
                if step - self._healthy_since[name] < self.health.window:
                    self.readings[name] = Reading("alert", signal, threshold, was.since)
                    return []
            self.readings[name] = Reading("ok", signal, threshold)
            return [self._cleared(name, "recovered", step)] if was else []
        self._healthy_since.pop(name, None)
        since = int(window["steps"][0])
        self.readings[name] = Reading("alert", signal, threshold, was.since if was else since)
        if was:
            return []
        self.active[name] = Alert(name, step, since, finding)
        return [self.active[name].event()]

    def _stand_down(self, name: str, step: int, why: str) -> list[dict]:
        self.readings[name] = Reading("off", note=why)
        return [self._cleared(name, why, step)] if name in self.active else []

    def _cleared(self, name: str, why: str, step: int | None = None) -> dict:
        alert = self.active.pop(name)
        self._healthy_since.pop(name, None)
        return {"kind": EventKind.ALERT_CLEARED, "name": name, "raised_at": alert.step, "why": why,
                **({"step": step} if step is not None else {})}

    def states(self) -> dict:
        """{detector: {state, signal, threshold, since}} for telemetry and the heartbeat."""
        return {name: dataclasses.asdict(r) for name, r in self.readings.items()}
