"""The loss lab's numbers: each loss's derivative is its slope, and who gets gradient is counted from the
histograms as the engine sends them."""
import numpy as np
import pytest

from core.analysis.losslab import LOSS_KINDS, Scores, d_losses, g_loss, gradients

EDGES = np.linspace(-10, 10, 161)


@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_each_derivative_is_the_slope_of_its_loss(kind):
    x = np.linspace(-4, 4, 801)[1:-1]
    away = np.abs(np.abs(x) - 0.7) > 0.02  # not at the hinge's kinks (margins 0.7 here)
    real, fake, d_real, d_fake = d_losses(kind, x, 0.7, 0.7)
    for loss, grad in ((real, d_real), (fake, d_fake), g_loss(kind, x)):
        slope = np.gradient(loss, x)
        np.testing.assert_allclose(slope[away][1:-1], grad[away][1:-1], atol=1e-2)


def test_the_hinge_gives_no_gradient_past_the_margin_and_bce_never_quite_none():
    real, fake = np.zeros(160), np.zeros(160)
    real[np.searchsorted(EDGES, 2.5) - 1] = 30  # 30 real scores at 2.5, past m_real = 1
    real[np.searchsorted(EDGES, 0.3) - 1] = 10  # 10 inside it
    fake[np.searchsorted(EDGES, -3.0) - 1] = 50
    scores = Scores(100, EDGES, real, fake, np.array([0, 10.0]), np.array([0, 0.0]))  # and 10 real beyond +10
    hinge = gradients("hinge", scores, 1.0, 1.0)
    assert hinge["d_real"].share == pytest.approx(10 / 50) and hinge["d_real"].mean == pytest.approx(1.0)
    assert hinge["d_fake"].share == 0.0 and hinge["g"].share == 1.0  # G's hinge loss, -D, always has slope -1
    bce = gradients("bce", scores)
    assert bce["d_real"].share > 0.75 and 0 < bce["d_real"].mean < 0.5  # small but there: it saturates, no more
    assert gradients("wasserstein", scores)["d_fake"] == gradients("wasserstein", scores)["d_real"]


def test_a_histograms_line_becomes_scores():
    record = {"step": 9, "edges": EDGES.tolist(), "real": [1] * 160, "fake": [2] * 160, "real_beyond": [3, 4],
              "fake_beyond": [0, 5]}
    scores = Scores.from_record(record)
    x, counts = scores.points("fake")
    assert counts[0] == 0 and counts[-1] == 5 and x[-1] > 10 and counts.sum() == 325
    old = Scores.from_record({k: v for k, v in record.items() if "beyond" not in k})  # a run from before
    assert old.points("real")[1].sum() == 160
