import numpy as np
import pytest

from core.telemetry import STAT_NAMES
from workbench.model import History, smooth


def ema_by_definition(values, weight):
    out, last, debias = [], 0.0, 1.0
    for v in values:
        if not np.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        debias *= weight
        out.append(last / (1 - debias))
    return np.array(out)


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99])
def test_smoothing_is_tensorboards_debiased_ema(weight):
    values = np.random.default_rng(0).normal(size=5000)
    values[[10, 2000]] = np.nan
    np.testing.assert_allclose(smooth(values, weight), ema_by_definition(values, weight), rtol=1e-9, atol=1e-12,
                               equal_nan=True)


def test_history_stays_bounded_and_keeps_the_ends():
    history = History(STAT_NAMES, capacity=1000)
    for start in range(0, 1_000_000, 5000):
        steps = np.arange(start + 1, start + 5001)
        history.extend(steps, {n: steps.astype(np.float32) for n in STAT_NAMES})
    assert len(history) <= 1000
    assert history.steps[0] == 1 and history.steps[-1] > 999_000
    assert np.all(np.diff(history.steps) > 0)
    assert np.array_equal(history.values["d_loss"], history.steps.astype(np.float32))
