"""The loss lab: what each loss would do with the scores D gives now. For the D(real) and D(fake) histograms of
one publication (or one histograms.jsonl line): each loss and its derivative with respect to D's score, as
curves over the score, and how many of the samples get gradient and how much, for D and for G. Computed from
the histograms alone: nothing is added to the training step.

    D's losses (real part, fake part)           G's loss on the fakes
    hinge        max(0, m_real - D), max(0, m_fake + D)    -D
    bce          softplus(-D), softplus(D)                  softplus(-D)   (non-saturating)
    wasserstein  -D, D                                      -D
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.protocol.telemetry import Scores

__all__ = ["LOSS_KINDS", "GETS_GRADIENT", "Gradient", "Scores", "d_losses", "g_loss", "gradients"]
LOSS_KINDS = ("hinge", "bce", "wasserstein")
GETS_GRADIENT = 1e-3  # |dL/dD| above this: the sample still gets gradient


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(x / 2))  # no overflow for large |x|


def _softplus(x):
    return np.logaddexp(0.0, x)


def d_losses(kind: str, x: np.ndarray, margin_real: float = 1.0, margin_fake: float = 1.0):
    """(real loss, fake loss, d real loss / dD, d fake loss / dD) at scores x, for D."""
    x = np.asarray(x, np.float64)
    if kind == "hinge":
        return (np.maximum(0, margin_real - x), np.maximum(0, margin_fake + x),
                -(x < margin_real).astype(float), (x > -margin_fake).astype(float))
    if kind == "bce":
        return _softplus(-x), _softplus(x), -_sigmoid(-x), _sigmoid(x)
    if kind == "wasserstein":
        return -x, x, -np.ones_like(x), np.ones_like(x)
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, x: np.ndarray):
    """(G's loss, its derivative with respect to D's score) at fake scores x."""
    x = np.asarray(x, np.float64)
    if kind == "bce":
        return _softplus(-x), -_sigmoid(-x)
    if kind in ("hinge", "wasserstein"):
        return -x, -np.ones_like(x)
    raise ValueError(f"unknown loss {kind!r}")


@dataclass(frozen=True)
class Gradient:
    """Of a set of samples: the share whose |dL/dD| exceeds GETS_GRADIENT, and the mean |dL/dD| over those."""

    share: float
    mean: float


def _gradient(grad: np.ndarray, counts: np.ndarray) -> Gradient:
    total = counts.sum()
    getting = (np.abs(grad) > GETS_GRADIENT) & (counts > 0)
    if not total:
        return Gradient(0.0, 0.0)
    share = counts[getting].sum() / total
    mean = float((np.abs(grad) * counts)[getting].sum() / counts[getting].sum()) if getting.any() else 0.0
    return Gradient(float(share), mean)


def gradients(kind: str, scores: Scores, margin_real: float = 1.0, margin_fake: float = 1.0) -> dict:
    """{"d_real", "d_fake", "g"}: Gradient of D's loss on the real and the fake samples, and of G's on the fakes."""
    x_real, n_real = scores.points("real")
    x_fake, n_fake = scores.points("fake")
    _, _, real_grad, _ = d_losses(kind, x_real, margin_real, margin_fake)
    _, _, _, fake_grad = d_losses(kind, x_fake, margin_real, margin_fake)
    return {"d_real": _gradient(real_grad, n_real), "d_fake": _gradient(fake_grad, n_fake),
            "g": _gradient(g_loss(kind, x_fake)[1], n_fake)}
