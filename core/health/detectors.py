"""The health detectors: what a session already measures, turned into a diagnosis.

They read the per-step statistics the session drains at its publishing interval (never anything per
step), the fixed-z sample views it renders anyway, and the quality evaluations. Each detector is a
small pure function of a window of those numbers that returns a Finding (the evidence, a
plain-language message and a suggested change) or None; core.health.monitor keeps their states and
says when an alert is raised and when it clears. Thresholds and windows: config `health.*`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.config import MAX_LR, HealthConfig
from core.protocol.telemetry import Settings


@dataclass(frozen=True)
class Finding:
    message: str
    evidence: dict
    suggestion: str
    action: dict | None = None  # the suggested change as a command line (core.protocol.commands), if there is one


@dataclass(frozen=True)
class RunFacts:
    """What the detectors know of a run besides its numbers: the settings in force and the data's kind."""

    settings: Settings  # the loss in force among them
    is_2d: bool


def _spectral_norm_would_help(run: RunFacts) -> bool:
    """Off on an image D: the usual remedy. A 2D critic under spectral norm cannot reach the margins."""
    return not run.settings.spectral_norm and not run.is_2d


def _halves(values: np.ndarray) -> tuple[float, float]:
    half = len(values) // 2
    return float(values[:half].mean()), float(values[half:].mean())


def inside_share(w: dict) -> float:
    """d_overpowers' signal: the larger of the real and fake shares inside their margins."""
    return float(max(w["real_violation_rate"].mean(), w["fake_violation_rate"].mean()))


def mean_abs_score(w: dict) -> float:
    """diverging's signal: the mean over the window of the larger of |mean D(real)| and |mean D(fake)|."""
    return float(np.maximum(np.abs(w["d_real_mean"]), np.abs(w["d_fake_mean"])).mean())


def divergence_limit(h: HealthConfig, s: Settings) -> float:
    """diverge_ratio times the larger margin, or times 1 where both margins are smaller (D's unit score)."""
    return h.diverge_ratio * max(s.margin_real, s.margin_fake, 1.0)


UNDER_LOSS = {  # what the margin-based detectors do when the hinge is not the loss in force
    "bce": "Under BCE the detectors judge as under the hinge: d_overpowers needs D's loss near 0 as well as the "
           "scores past the margins (so D must win by far, not just pass them), and diverging compares mean |D| "
           "with the same limit (BCE's scores have no margin to stop at, so a strong D climbs towards it).",
    "wasserstein": "Under Wasserstein d_overpowers stands down (a critic's loss has no zero to sink to); "
                   "diverging still compares mean |D| with its limit, the one bound on a critic without a penalty.",
}


def describe_basis(s: Settings) -> str:
    larger = max(s.margin_real, s.margin_fake)
    return f"the larger margin, {larger:g}" if larger >= 1.0 else f"1, as both margins ({larger:g} at most) are under 1"


def _span(w: dict) -> list[int]:
    return [int(w["steps"][0]), int(w["steps"][-1])]


def d_overpowers(w: dict, h: HealthConfig, run: RunFacts, active: bool = False) -> Finding | None:
    """D puts real and fake beyond both margins for the whole window: D's loss is near 0, so D stops
    learning, and G's gradient comes only from how far beyond the margin its samples are. Once raised,
    the alert holds until the shares and the loss are twice the thresholds (no flapping at the edge)."""
    d_loss = float(w["d_loss"].mean())
    slack = 2.0 if active else 1.0
    if inside_share(w) > slack * h.overpower_inside or d_loss > slack * h.overpower_d_loss:
        return None
    inside_real, inside_fake = float(w["real_violation_rate"].mean()), float(w["fake_violation_rate"].mean())
    g_before, g_after = _halves(w["g_loss"])
    o = run.settings
    if _spectral_norm_would_help(run):
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


def diverging(w: dict, h: HealthConfig, run: RunFacts, active: bool = False) -> Finding | None:
    """D's scores run away from the margins (before they overflow into the NaN pause). Once raised, the
    alert holds until the scores are back under half the limit."""
    score, limit = mean_abs_score(w), divergence_limit(h, run.settings)
    if score <= limit * (0.5 if active else 1.0):  # NaN is not <=: it counts as diverging
        return None
    o = run.settings
    if _spectral_norm_would_help(run):
        suggestion, action = "switch spectral normalization on", {"kind": "set_spectral_norm", "enabled": True}
    else:
        suggestion, action = f"halve both learning rates (G {o.lr_g:g} -> {o.lr_g / 2:g}, D {o.lr_d:g} -> {o.lr_d / 2:g})", \
            {"kind": "set_learning_rates", "lr_g": o.lr_g / 2, "lr_d": o.lr_d / 2}
    return Finding(
        f"D's scores are running away: mean |D| is {score:.3g}, over the limit of {limit:g} ({h.diverge_ratio:g} "
        f"times {describe_basis(run.settings)}); the losses will overflow next.",
        {"steps": _span(w), "mean_abs_score": score, "limit": limit,
         "d_loss": float(w["d_loss"][-1]), "g_loss": float(w["g_loss"][-1])}, suggestion, action)


def stalled(w: dict, sample_change: float, weight_change: float, h: HealthConfig, run: RunFacts) -> Finding | None:
    """Neither player's loss moves, the fixed-z samples stay the same and G's weights stand still over a long
    window. A converged run also has flat losses and steady samples, but its G keeps moving its weights (each
    step's update, balanced by the next): that is equilibrium, not a stall."""
    moves = {name: abs(np.subtract(*_halves(w[name]))) for name in ("d_loss", "g_loss")}
    if (max(moves.values()) > h.stall_loss_change or sample_change > h.stall_sample_change
            or weight_change > h.stall_weight_change):
        return None
    o = run.settings
    lr_g, lr_d = min(o.lr_g * 10, MAX_LR), min(o.lr_d * 10, MAX_LR)
    return Finding(
        f"Nothing is learning: over {len(w['steps'])} steps D's loss moved {moves['d_loss']:.4f}, G's "
        f"{moves['g_loss']:.4f}, the samples changed by {sample_change:.4f} (of the data's range) and G's weights "
        f"by {weight_change:.2g} of their size.",
        {"steps": _span(w), "d_loss_change": moves["d_loss"], "g_loss_change": moves["g_loss"],
         "sample_change": sample_change, "weight_change": weight_change},
        f"raise both learning rates tenfold ({o.lr_g:g} -> {lr_g:g}, {o.lr_d:g} -> {lr_d:g})",
        {"kind": "set_learning_rates", "lr_g": lr_g, "lr_d": lr_d})


def g_collapse(quality: dict, best: dict, h: HealthConfig, run: RunFacts) -> Finding | None:
    """G's samples cover far less than the data, and far less than this run's G already did: too little
    spread in the evaluation's feature space, or too few of the classes (2D: modes) present. `best` holds
    the run's best diversity and coverage so far: a G that has not yet covered the data is still learning,
    not collapsing."""
    evidence, reasons = {"steps": [quality["step"], quality["step"]]}, []
    diversity, coverage = diversity_of(quality), coverage_of(quality)
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
    o = run.settings
    return Finding(f"G is collapsing: {' and '.join(reasons)}.", evidence,
                   f"halve G's learning rate ({o.lr_g:g} -> {o.lr_g / 2:g})",
                   {"kind": "set_learning_rates", "lr_g": o.lr_g / 2})


def not_covering(quality: dict, seen: list[tuple[int, int]], h: HealthConfig, run: RunFacts) -> Finding | None:
    """After a warm-up, the samples still cover too little of the data (classes; 2D: modes) and the run is not
    getting better at it: over its last cover_patience evaluations the median coverage is under cover_share
    and no higher than over the evaluations before them. `seen`: (step, classes or modes present) of this
    run's earlier evaluations, oldest first."""
    coverage, step, k = coverage_of(quality), int(quality["step"]), h.cover_patience
    if coverage is None or step < h.cover_after or len(seen) < 2 * k - 1:
        return None
    present, total = coverage
    history = [p for _, p in seen] + [present]
    recent, before = float(np.median(history[-k:])), float(np.median(history[-2 * k:-k]))
    if recent >= h.cover_share * total or recent > before:
        return None
    kind = "classes" if "classes_total" in quality else "modes"
    o = run.settings
    return Finding(
        f"G does not cover the data: over its last {k} evaluations a median of {recent:g} of {total} {kind} "
        f"appear (now {present}), past the warm-up of {h.cover_after:,} steps and no better than the {k} before "
        f"them ({before:g}).",
        {"steps": [seen[-k + 1][0] if k > 1 else step, step], "present": present, "total": total,
         "median_recent": recent, "median_before": before},
        f"halve both learning rates ({o.lr_g:g} -> {o.lr_g / 2:g}, {o.lr_d:g} -> {o.lr_d / 2:g})",
        {"kind": "set_learning_rates", "lr_g": o.lr_g / 2, "lr_d": o.lr_d / 2})


FULL_AUGMENT = "color,translation,cutout"


def memorise_gap(probes: list[dict]) -> float | None:
    """d_memorises' signal over the probes' window: how far D's mean score on held-out reals has moved from its
    score on the reals it trains on towards its score on fakes, (D_train - D_held) / (D_train - D_fake): 0 where
    D scores unseen images as it scores its training images (it learned the data), 1 where it scores them as
    fakes (it learned the images). None while D barely tells reals from fakes (the ratio is noise then)."""
    trained, held, fake = (float(np.mean([p[k] for p in probes])) for k in ("d_train", "d_held", "d_fake"))
    apart = trained - fake
    return (trained - held) / apart if apart > 0.1 else None


def d_memorises(probes: list[dict], h: HealthConfig, run: RunFacts, active: bool = False) -> Finding | None:
    """D memorises its training images (Karras et al. 2020, ADA: the held-out reals' scores drift towards the
    fakes' while the training reals' stay): the losses look fine, but G is being taught the training images,
    not the data, and the samples' quality turns. Once raised, the alert holds until the gap is under half the
    threshold. `probes`: the last memorise_probes probes, each with D's mean score on a fixed set of training
    reals, held-out reals and fixed-z fakes, and r_t (ADA's heuristic: the share of training reals D scores
    positive, minus the share it scores negative)."""
    gap = memorise_gap(probes)
    if gap is None or gap <= h.memorise_gap * (0.5 if active else 1.0):
        return None
    last, o = probes[-1], run.settings
    if o.augment != FULL_AUGMENT:
        suggestion, action = (f"switch DiffAugment's full policy on ({o.augment} -> {FULL_AUGMENT}): D then never "
                              "sees the same image twice"), {"kind": "set_augment", "policies": FULL_AUGMENT}
    else:
        suggestion, action = f"halve D's learning rate ({o.lr_d:g} -> {o.lr_d / 2:g})", \
            {"kind": "set_learning_rates", "lr_d": o.lr_d / 2}
    return Finding(
        f"D is memorising its training images: held-out reals score {last['d_held']:.2f} against {last['d_train']:.2f} "
        f"for the reals it trains on and {last['d_fake']:.2f} for fakes, {gap:.0%} of the way from real to fake over "
        f"the last {len(probes)} probes (r_t {last['r_t']:.2f}).",
        {"steps": [int(probes[0]["step"]), int(last["step"])], "gap": gap, "d_train": last["d_train"],
         "d_held": last["d_held"], "d_fake": last["d_fake"], "r_t": last["r_t"]}, suggestion, action)


def coverage_share(quality: dict) -> float | None:
    """not_covering's signal: the share of the classes (2D: modes) present."""
    coverage = coverage_of(quality)
    return coverage[0] / coverage[1] if coverage else None


def diversity_of(quality: dict) -> float | None:
    return next((float(v) for k, v in quality.items() if k.startswith("diversity") and v is not None), None)


def coverage_of(quality: dict) -> tuple[int, int] | None:
    present = quality.get("classes_present", quality.get("modes_covered"))
    total = quality.get("classes_total", quality.get("modes_total"))
    return (int(present), int(total)) if present is not None and total else None


def collapse_signal(quality: dict) -> float | None:
    """The number the Health dock plots for g_collapse: the diversity, else the share of classes or modes."""
    diversity, coverage = diversity_of(quality), coverage_of(quality)
    if diversity is not None:
        return diversity
    return coverage[0] / coverage[1] if coverage else None
