"""Training health: four detectors that turn what a session already measures into a diagnosis.

They read the per-step statistics the session drains at its publishing interval (never anything per
step), the fixed-z sample views it renders anyway, and the quality evaluations. Each detector is a
small pure function of a window of those numbers that returns a Finding (the evidence, a
plain-language message and a suggested change) or None; HealthMonitor keeps their states and says when
an alert is raised and when it clears. Thresholds and windows: config `health.*`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from core.config import MAX_LR, Config, HealthConfig
from core.states import EventKind

DETECTORS = ("d_overpowers", "g_collapse", "diverging", "stalled")
WINDOW_STATS = ("d_loss", "g_loss", "d_real_mean", "d_fake_mean", "real_violation_rate", "fake_violation_rate")


@dataclass(frozen=True)
class Finding:
    message: str
    evidence: dict
    suggestion: str
    action: dict | None = None  # the suggested change as a command line (core/commands.py), if there is one


@dataclass
class Reading:
    """A detector's state as the Health dock shows it."""

    state: str  # "ok", "alert", "warming up" (not enough steps yet), "off" (nothing to judge it on)
    signal: float | None = None  # the number the detector compares with its threshold
    threshold: float | None = None
    since: int | None = None  # first step of the window that shows the alert


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

    def clear(self) -> None:
        self.__init__(self.size)


def _spectral_norm_would_help(cfg: Config) -> bool:
    """Off on an image D: the usual remedy. A 2D critic under spectral norm cannot reach the margins."""
    return not cfg.model.spectral_norm and not cfg.is_2d


def _halves(values: np.ndarray) -> tuple[float, float]:
    half = len(values) // 2
    return float(values[:half].mean()), float(values[half:].mean())


def inside_share(w: dict) -> float:
    """d_overpowers' signal: the larger of the real and fake shares inside their margins."""
    return float(max(w["real_violation_rate"].mean(), w["fake_violation_rate"].mean()))


def mean_abs_score(w: dict) -> float:
    """diverging's signal: the mean over the window of the larger of |mean D(real)| and |mean D(fake)|."""
    return float(np.maximum(np.abs(w["d_real_mean"]), np.abs(w["d_fake_mean"])).mean())


def divergence_limit(h: HealthConfig, cfg: Config) -> float:
    return h.diverge_ratio * max(cfg.loss.margin_real, cfg.loss.margin_fake, 1.0)


def _span(w: dict) -> list[int]:
    return [int(w["steps"][0]), int(w["steps"][-1])]


def d_overpowers(w: dict, h: HealthConfig, cfg: Config, active: bool = False) -> Finding | None:
    """D puts real and fake beyond both margins for the whole window: D's loss is near 0, so D stops
    learning, and G's gradient comes only from how far beyond the margin its samples are. Once raised,
    the alert holds until the shares and the loss are twice the thresholds (no flapping at the edge)."""
    d_loss = float(w["d_loss"].mean())
    slack = 2.0 if active else 1.0
    if inside_share(w) > slack * h.overpower_inside or d_loss > slack * h.overpower_d_loss:
        return None
    inside_real, inside_fake = float(w["real_violation_rate"].mean()), float(w["fake_violation_rate"].mean())
    g_before, g_after = _halves(w["g_loss"])
    o = cfg.optim
    if _spectral_norm_would_help(cfg):
        suggestion, action = "switch spectral normalization on (it caps how fast D can pull away)", \
            {"kind": "set_spectral_norm", "enabled": True}
    else:
        suggestion, action = f"halve D's learning rate ({o.lr_d:g} -> {o.lr_d / 2:g})", \
            {"kind": "set_learning_rates", "lr_d": o.lr_d / 2}
    return Finding(
        f"D wins outright: only {inside_real:.1%} of real and {inside_fake:.1%} of fake samples are inside their "
        f"margins and D's loss is {d_loss:.3f}; G's loss went from {g_before:.2f} to {g_after:.2f}.",
        {"steps": _span(w), "inside_real": inside_real, "inside_fake": inside_fake, "d_loss": d_loss,
         "g_loss_first_half": g_before, "g_loss_second_half": g_after}, suggestion, action)


def diverging(w: dict, h: HealthConfig, cfg: Config, active: bool = False) -> Finding | None:
    """D's scores run away from the margins (before they overflow into the NaN pause). Once raised, the
    alert holds until the scores are back under half the limit."""
    score, limit = mean_abs_score(w), divergence_limit(h, cfg)
    if score <= limit * (0.5 if active else 1.0):  # NaN is not <=: it counts as diverging
        return None
    o = cfg.optim
    if _spectral_norm_would_help(cfg):
        suggestion, action = "switch spectral normalization on", {"kind": "set_spectral_norm", "enabled": True}
    else:
        suggestion, action = f"halve both learning rates ({o.lr_g:g}, {o.lr_d:g})", \
            {"kind": "set_learning_rates", "lr_g": o.lr_g / 2, "lr_d": o.lr_d / 2}
    return Finding(
        f"D's scores are running away: mean |D| is {score:.3g}, over {h.diverge_ratio:g} times the margin "
        f"({limit / h.diverge_ratio:g}); the losses will overflow next.",
        {"steps": _span(w), "mean_abs_score": score, "limit": limit,
         "d_loss": float(w["d_loss"][-1]), "g_loss": float(w["g_loss"][-1])}, suggestion, action)


def stalled(w: dict, sample_change: float, h: HealthConfig, cfg: Config) -> Finding | None:
    """Neither player's loss moves and the fixed-z samples stay the same over a long window."""
    moves = {name: abs(np.subtract(*_halves(w[name]))) for name in ("d_loss", "g_loss")}
    if max(moves.values()) > h.stall_loss_change or sample_change > h.stall_sample_change:
        return None
    o = cfg.optim
    lr_g, lr_d = min(o.lr_g * 10, MAX_LR), min(o.lr_d * 10, MAX_LR)
    return Finding(
        f"Nothing is learning: over {len(w['steps'])} steps D's loss moved {moves['d_loss']:.4f}, G's "
        f"{moves['g_loss']:.4f}, and the samples changed by {sample_change:.4f} (of the data's range).",
        {"steps": _span(w), "d_loss_change": moves["d_loss"], "g_loss_change": moves["g_loss"],
         "sample_change": sample_change},
        f"raise both learning rates tenfold ({o.lr_g:g} -> {lr_g:g}, {o.lr_d:g} -> {lr_d:g})",
        {"kind": "set_learning_rates", "lr_g": lr_g, "lr_d": lr_d})


def g_collapse(quality: dict, best: dict, h: HealthConfig, cfg: Config) -> Finding | None:
    """G's samples cover far less than the data, and far less than this run's G already did: too little
    spread in the evaluation's feature space, or too few of the classes (2D: modes) present. `best` holds
    the run's best diversity and coverage so far: a G that has not yet covered the data is still learning,
    not collapsing."""
    evidence, reasons = {"steps": [quality["step"], quality["step"]]}, []
    diversity, coverage = _diversity(quality), _coverage(quality)
    if diversity is not None:
        had = best.get("diversity", diversity)
        evidence.update(diversity=diversity, best_diversity=had)
        if diversity < h.collapse_diversity <= had and diversity < h.collapse_drop * had:
            reasons.append(f"their spread in the judge's feature space is {diversity:.0%} of the data's "
                           f"(this run reached {best['diversity']:.0%})")
    if coverage is not None:
        present, total = coverage
        most = best.get("present", present)
        evidence.update(present=present, total=total, best_present=most)
        if present < h.collapse_classes * total <= most and present < h.collapse_drop * most:
            kind = "classes" if "classes_total" in quality else "modes"
            reasons.append(f"only {present} of {total} {kind} appear (this run reached {most})")
    if not reasons:
        return None
    o = cfg.optim
    return Finding(f"G is collapsing: {' and '.join(reasons)}.", evidence,
                   f"halve G's learning rate ({o.lr_g:g} -> {o.lr_g / 2:g})",
                   {"kind": "set_learning_rates", "lr_g": o.lr_g / 2})


def _diversity(quality: dict) -> float | None:
    return next((float(v) for k, v in quality.items() if k.startswith("diversity") and v is not None), None)


def _coverage(quality: dict) -> tuple[int, int] | None:
    present = quality.get("classes_present", quality.get("modes_covered"))
    total = quality.get("classes_total", quality.get("modes_total"))
    return (int(present), int(total)) if present is not None and total else None


def collapse_signal(quality: dict) -> float | None:
    """The number the Health dock plots for g_collapse: the diversity, else the share of classes or modes."""
    diversity, coverage = _diversity(quality), _coverage(quality)
    if diversity is not None:
        return diversity
    return coverage[0] / coverage[1] if coverage else None


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


@dataclass
class HealthMonitor:
    """Runs the detectors on what the session drains; `update` returns the events to record (alert raised,
    alert cleared), in order."""

    cfg: Config
    window: StepWindow = field(init=False)
    views: list = field(default_factory=list)  # (step, fixed-z sample array in [0, 1] units)
    active: dict = field(default_factory=dict)  # name -> Alert
    readings: dict = field(default_factory=dict)  # name -> Reading
    best: dict = field(default_factory=dict)  # the run's best diversity and coverage ("present") so far

    def __post_init__(self):
        h = self.cfg.health
        self.window = StepWindow(max(h.window, h.diverge_window, h.stall_window))
        self.readings = {name: Reading("warming up") for name in DETECTORS}
        self._healthy_since: dict[str, int] = {}  # an active alert's detector: first step it saw no failure
        if not self.cfg.eval.every:
            self.readings["g_collapse"] = Reading("off")

    def reset(self) -> list[dict]:
        """Forget the windows (after a rewind); the active alerts clear."""
        cleared = [self._cleared(name, "rewound") for name in list(self.active)]
        self.window.clear()
        self.views.clear()
        self.best.clear()
        self.__post_init__()
        return cleared

    def observe_view(self, step: int, picture: np.ndarray) -> None:
        self.views.append((step, np.asarray(picture, np.float32)))
        horizon = step - self.cfg.health.stall_window
        while len(self.views) > 2 and self.views[1][0] <= horizon:  # keep one view at or before the horizon
            self.views.pop(0)

    def update(self, step: int, steps: np.ndarray, scalars: dict, quality=()) -> list[dict]:
        h = self.cfg.health
        if not h.enabled:
            return []
        self.window.extend(steps, scalars)
        events = []
        if len(steps):
            w = self.window.last(h.window)
            if self.cfg.loss.kind != "wasserstein":  # a critic's loss has no zero to sink to
                found = w and d_overpowers(w, h, self.cfg, "d_overpowers" in self.active)
                events += self._judge("d_overpowers", step, found, w, w and inside_share(w), h.overpower_inside)
            w = self.window.last(h.diverge_window)
            found = w and diverging(w, h, self.cfg, "diverging" in self.active)
            events += self._judge("diverging", step, found, w, w and mean_abs_score(w), divergence_limit(h, self.cfg))
            w, change = self.window.last(h.stall_window), self._sample_change(h.stall_window)
            ready = w if change is not None else None
            events += self._judge("stalled", step, ready and stalled(ready, change, h, self.cfg), ready, change,
                                  h.stall_sample_change)
        for result in quality:
            if "error" not in result:
                events += self._judge("g_collapse", int(result["step"]), g_collapse(result, self.best, h, self.cfg),
                                      {"steps": [result["step"]]}, collapse_signal(result), h.collapse_diversity)
                self._remember_best(result)
        return events

    def _remember_best(self, quality: dict) -> None:
        diversity, coverage = _diversity(quality), _coverage(quality)
        if diversity is not None:
            self.best["diversity"] = max(diversity, self.best.get("diversity", diversity))
        if coverage is not None:
            self.best["present"] = max(coverage[0], self.best.get("present", coverage[0]))

    def _sample_change(self, window: int) -> float | None:
        """Mean absolute change of the fixed-z samples over the last `window` steps (None: not yet seen)."""
        if len(self.views) < 2 or self.views[-1][0] - self.views[0][0] < window:
            return None
        (_, before), (_, now) = self.views[0], self.views[-1]
        return float(np.abs(now - before).mean()) if before.shape == now.shape else None

    def _judge(self, name, step, finding, window, signal, threshold) -> list[dict]:
        if window is None:
            return []
        signal = None if signal is None else float(signal)
        was = self.active.get(name)
        if finding is None:
            if was is not None:  # an alert clears after a whole window without the failure, so it does not flap
                self._healthy_since.setdefault(name, step)
                if step - self._healthy_since[name] < self.cfg.health.window:
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

    def _cleared(self, name: str, why: str, step: int | None = None) -> dict:
        alert = self.active.pop(name)
        self._healthy_since.pop(name, None)
        return {"kind": EventKind.ALERT_CLEARED, "name": name, "raised_at": alert.step, "why": why,
                **({"step": step} if step is not None else {})}

    def states(self) -> dict:
        """{detector: {state, signal, threshold, since}} for telemetry and the heartbeat."""
        return {name: dataclasses.asdict(r) for name, r in self.readings.items()}
