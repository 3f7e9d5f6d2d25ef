"""The metric functions against identities that hold exactly and a literal reimplementation."""
import itertools

import numpy as np
import pytest

from core.quality import metrics
from core.training.data import grid25_centers, ring8_centers


def correlated(n=400, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d))


def test_fid_of_a_set_with_itself_is_zero():
    x = correlated()
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_fid_of_a_shift_is_its_squared_length():
    x = correlated()
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])
    assert metrics.frechet_distance(x, x + shift) == pytest.approx((shift ** 2).sum(), rel=1e-6)


def test_fid_of_a_scaled_set_follows_the_trace_identity():
    x = correlated()
    x = x - x.mean(0)
    a = 0.3  # covariance a^2 C: FID = tr(C) (1 - a)^2
    expected = np.trace(np.cov(x, rowvar=False)) * (1 - a) ** 2
    assert metrics.frechet_distance(x, a * x) == pytest.approx(expected, rel=1e-6)


def literal_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m = len(x)
    same = sum(k(x[i], x[j]) + k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m ** 2
    return same - 2 * cross


def test_kid_is_the_unbiased_polynomial_mmd():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 3)), rng.normal(1.0, 1.0, size=(12, 3))
    kid, _ = metrics.kernel_inception_distance(x, y, subsets=3, subset_size=12)
    assert kid == pytest.approx(literal_mmd2(x, y), rel=1e-9)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(2)
    same, _ = metrics.kernel_inception_distance(rng.normal(size=(500, 8)), rng.normal(size=(500, 8)), subsets=10,
                                                subset_size=200)
    apart, _ = metrics.kernel_inception_distance(rng.normal(size=(500, 8)), rng.normal(0.5, 1, size=(500, 8)),
                                                 subsets=10, subset_size=200)
    assert abs(same) < 0.05 < apart


def test_precision_and_recall_separate_quality_from_coverage():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(300, 4))
    assert metrics.precision_recall(real, real.copy()) == (1.0, 1.0)
    assert metrics.precision_recall(real, real + 100) == (0.0, 0.0)
    collapsed = real[real[:, 0] > 1.0]  # real-looking samples from one corner only
    precision, recall = metrics.precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.5


def one_hot(classes, confidence=1.0, n_classes=10):
    """Softmax rows whose top class `classes` has probability `confidence`, the rest spread evenly."""
    rows = np.full((len(classes), n_classes), (1 - confidence) / (n_classes - 1))
    rows[np.arange(len(classes)), classes] = confidence
    return rows


def test_class_coverage_counts_classes_with_a_real_share():
    uniform = metrics.class_coverage(one_hot(np.arange(1000) % 10))
    assert uniform["classes_present"] == 10 and uniform["class_kl"] == pytest.approx(0.0, abs=1e-12)
    one = metrics.class_coverage(one_hot(np.r_[np.full(995, 3), np.arange(5)]))
    assert one["classes_present"] == 1 and one["class_histogram"][3] == 995 + 1
    assert metrics.class_coverage(one_hot(np.full(50, 3)))["class_kl"] == pytest.approx(np.log(10))


def test_confident_share_counts_samples_that_read_as_one_class():
    sure, torn = one_hot(np.arange(30) % 10, 0.95), one_hot(np.arange(70) % 10, 0.6)
    assert metrics.class_coverage(np.r_[sure, torn])["confident_share"] == pytest.approx(0.3)


@pytest.mark.parametrize("make_centers,std", [(ring8_centers, 0.01), (grid25_centers, 0.05)])
def test_mixture_metrics_follow_pacgan(make_centers, std):
    centers = make_centers().numpy()
    rng = np.random.default_rng(4)
    on_modes = np.repeat(centers, 100, axis=0) + rng.normal(0, std, size=(100 * len(centers), 2))
    score = metrics.mixture_metrics(on_modes, centers, std)
    assert score["modes_covered"] == len(centers) and score["high_quality_rate"] > 0.98  # 1 - exp(-4.5) of a 2D Gaussian lies within 3 std
    assert score["reverse_kl"] < 0.01
    one_mode = metrics.mixture_metrics(np.repeat(centers[:1], 50, axis=0), centers, std)
    assert one_mode["modes_covered"] == 1 and one_mode["reverse_kl"] == pytest.approx(np.log(len(centers)))
    far = metrics.mixture_metrics(on_modes + 10 * std, centers, std)
    assert far["high_quality_rate"] == 0.0 and far["modes_covered"] == 0
