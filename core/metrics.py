"""Sample-quality metrics."""
from __future__ import annotations

import numpy as np


def mixture_metrics(samples: np.ndarray, centers: np.ndarray, std: float) -> dict:
    """PacGAN's metrics for 2D Gaussian mixtures.

    A sample is high quality if it lies within 3 std of its nearest mode; a mode is covered if it
    has at least one high-quality sample; reverse KL compares the histogram of high-quality samples
    over modes with the uniform distribution (PacGAN's definition).
    """
    samples = np.asarray(samples, dtype=np.float64)
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = distances.argmin(1)
    good = distances[np.arange(len(samples)), nearest] <= 3 * std
    counts = np.bincount(nearest[good], minlength=len(centers)).astype(np.float64)
    k = len(centers)
    covered = int((counts > 0).sum())
    p = counts / max(counts.sum(), 1.0)
    nonzero = p > 0
    reverse_kl = float(np.sum(p[nonzero] * np.log(p[nonzero] * k))) if nonzero.any() else float("inf")
    return {
        "modes_covered": covered,
        "modes_total": k,
        "high_quality_rate": float(good.mean()) if len(samples) else 0.0,
        "reverse_kl": reverse_kl,
    }
