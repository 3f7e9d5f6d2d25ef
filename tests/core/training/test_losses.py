import math

import pytest
import torch

from core.protocol.telemetry import STAT_NAMES
from core.training.losses import LOSSES, hinge_d_loss, hinge_g_loss, margin_violation_rates, step_statistics


def test_hinge_matches_the_formula_by_hand():
    d_real = torch.tensor([2.0, 0.5, -1.0])
    d_fake = torch.tensor([-2.0, 0.0, 1.0])
    real, fake = hinge_d_loss(d_real, d_fake)
    assert real.item() == pytest.approx((0 + 0.5 + 2.0) / 3)
    assert fake.item() == pytest.approx((0 + 1.0 + 2.0) / 3)
    assert hinge_g_loss(d_fake).item() == pytest.approx(1.0 / 3)


def test_margins_shift_the_hinges_separately():
    d = torch.tensor([0.3])
    real, fake = hinge_d_loss(d, d, margin_real=0.5, margin_fake=2.0)
    assert real.item() == pytest.approx(0.2)
    assert fake.item() == pytest.approx(2.3)
    real, fake = hinge_d_loss(d, d, margin_real=0.0, margin_fake=0.0)
    assert real.item() == 0.0 and fake.item() == pytest.approx(0.3)


def test_no_gradient_past_the_margin():
    d_real = torch.tensor([1.5, 0.5], requires_grad=True)
    d_fake = torch.tensor([-1.5, -0.5], requires_grad=True)
    real, fake = hinge_d_loss(d_real, d_fake)
    (real + fake).backward()
    assert d_real.grad.tolist() == [0.0, -0.5]
    assert d_fake.grad.tolist() == [0.0, 0.5]


def test_violation_rates_count_samples_inside_their_margin():
    d_real = torch.tensor([2.0, 0.9, 1.1, -3.0])
    d_fake = torch.tensor([-2.0, -0.5, 0.0, -1.1])
    real_rate, fake_rate = margin_violation_rates(d_real, d_fake, 1.0, 1.0)
    assert real_rate.item() == 0.5 and fake_rate.item() == 0.5


def test_bce_and_wasserstein_parts():
    d_real, d_fake = torch.tensor([0.0]), torch.tensor([0.0])
    real, fake = LOSSES["bce"][0](d_real, d_fake)
    assert real.item() == pytest.approx(math.log(2)) and fake.item() == pytest.approx(math.log(2))
    assert LOSSES["bce"][1](torch.tensor([0.0])).item() == pytest.approx(math.log(2))
    real, fake = LOSSES["wasserstein"][0](torch.tensor([3.0]), torch.tensor([1.0]))
    assert (real + fake).item() == -2.0


def test_statistics_stay_on_device_as_one_tensor():
    d_real, d_fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.0])
    real, fake = hinge_d_loss(d_real, d_fake)
    stats = step_statistics(d_real, d_fake, real, fake, hinge_g_loss(d_fake), 1.0, 1.0)
    assert stats.shape == (len(STAT_NAMES),)
    values = dict(zip(STAT_NAMES, stats.tolist()))
    assert values["d_loss"] == pytest.approx(1.0)
    assert values["d_real_mean"] == 1.0 and values["d_fake_mean"] == -1.0
    assert values["real_violation_rate"] == 0.5 and values["fake_violation_rate"] == 0.5
