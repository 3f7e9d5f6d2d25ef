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


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """FID's distance between Gaussians fitted to two feature sets (rows are samples).

    tr(sqrt(S_r S_f)) is computed as the sum of square roots of the eigenvalues of
    sqrt(S_r) S_f sqrt(S_r), which is symmetric, so no general matrix square root is needed.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    mu_r, mu_f = real.mean(0), fake.mean(0)
    cov_r, cov_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    values, vectors = np.linalg.eigh(cov_r)
    sqrt_r = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    cross = np.linalg.eigvalsh(sqrt_r @ cov_f @ sqrt_r).clip(min=0)
    distance = ((mu_r - mu_f) ** 2).sum() + np.trace(cov_r) + np.trace(cov_f) - 2 * np.sqrt(cross).sum()
    return float(max(distance, 0.0))


def kernel_inception_distance(real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """KID: the unbiased MMD^2 with the kernel (x.y/d + 1)^3, averaged over random subsets; (mean, std)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(real), len(fake))
    d = real.shape[1]
    estimates = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        off_diagonal = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        estimates.append(off_diagonal - 2 * k_xy.mean())
    return float(np.mean(estimates)), float(np.std(estimates))


BATCH = 1024  # rows of a distance matrix at a time: memory O(N x BATCH), not O(N x N)


def _pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(squared.clip(min=0))


def _row_batches(a: np.ndarray, b: np.ndarray):
    """(start, distances from a[start:start + BATCH] to every row of b), batch by batch."""
    for start in range(0, len(a), BATCH):
        yield start, _pairwise_distances(a[start:start + BATCH], b)


def _kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    radii = np.empty(len(features))
    for start, distances in _row_batches(features, features):
        radii[start:start + len(distances)] = np.partition(distances, k, axis=1)[:, k]  # column 0: the point itself
    return radii


def _inside(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point: does it lie within some centre's ball?"""
    inside = np.empty(len(points), bool)
    for start, distances in _row_batches(points, centres):
        inside[start:start + len(distances)] = (distances <= radii[None, :]).any(1)
    return inside


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls reaching each point's k-th nearest neighbour in that
    set. Precision: the share of fake samples inside the real manifold; recall: the share of real
    samples inside the fake manifold. Computed BATCH rows at a time: 50,000 samples need a few hundred MB.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    radii_real, radii_fake = _kth_neighbour_radii(real, k), _kth_neighbour_radii(fake, k)
    return float(_inside(fake, real, radii_real).mean()), float(_inside(real, fake, radii_fake).mean())


CONFIDENT = 0.9


def class_coverage(probabilities: np.ndarray, prior: np.ndarray | None = None) -> dict:
    """How a classifier spreads generated samples over the classes, from its (N, classes) softmax, against the
    mix the samples should have (`prior`: the data's share of each class; None: all equal).

    A class is present when it receives at least a tenth of its share of the samples (so a handful of
    misclassified blobs do not count as a class); class_kl is KL(p || prior); confident_share is the share
    of samples whose most likely class has probability >= 0.9 (a digit that reads as one digit, not a blend
    of two).
    """
    probabilities = np.asarray(probabilities)
    n_classes = probabilities.shape[1]
    prior = np.full(n_classes, 1.0 / n_classes) if prior is None else np.asarray(prior, np.float64) / np.sum(prior)
    counts = np.bincount(probabilities.argmax(1), minlength=n_classes).astype(np.float64)
    p = counts / max(counts.sum(), 1.0)
    nonzero = p > 0
    return {
        "classes_present": int((p >= 0.1 * prior).sum()),
        "classes_total": n_classes,
        "class_kl": float(np.sum(p[nonzero] * np.log(p[nonzero] / np.maximum(prior[nonzero], 1e-12)))),
        "class_histogram": counts.astype(int).tolist(),
        "confident_share": float((probabilities.max(1) >= CONFIDENT).mean()) if len(probabilities) else 0.0,
    }


def diversity(real: np.ndarray, fake: np.ndarray, n: int = 500) -> float:
    """The fakes' mean pairwise distance as a share of the reals' (first n of each): about 1 for a generator
    as varied as the data, near 0 for one that makes the same few samples."""
    def spread(features):
        features = np.asarray(features[:n], np.float64)
        m = len(features)
        return _pairwise_distances(features, features).sum() / max(m * (m - 1), 1)
    return float(spread(fake) / max(spread(real), 1e-12))


def image_metrics(real_features: np.ndarray, fake_features: np.ndarray, k: int = 3) -> dict:
    """FID, KID, improved precision/recall and diversity between two feature sets."""
    kid, kid_std = kernel_inception_distance(real_features, fake_features)
    precision, recall = precision_recall(real_features, fake_features, k)
    return {"fid": frechet_distance(real_features, fake_features), "kid": kid, "kid_std": kid_std,
            "precision": precision, "recall": recall, "diversity": diversity(real_features, fake_features)}
