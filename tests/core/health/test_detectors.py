"""The health detectors and their monitor, on windows of numbers: each silent on a healthy run and firing on
the failure it names; an alert raised once and cleared when the failure ends."""
import numpy as np

from core.config import resolve, settings_of
from core.health import HealthMonitor, RunFacts, d_overpowers, diverging, g_collapse, stalled
from core.protocol.telemetry import STAT_NAMES


def window(n=500, **values):
    """n steps of statistics: a healthy hinge GAN's by default, with some of them replaced."""
    healthy = {"d_loss": 1.4, "g_loss": 0.3, "real_loss": 0.7, "fake_loss": 0.7, "d_real_mean": 0.4,
               "d_fake_mean": -0.3, "real_violation_rate": 0.6, "fake_violation_rate": 0.55}
    w = {name: np.full(n, healthy[name], np.float32) for name in STAT_NAMES}
    w.update({name: np.broadcast_to(np.asarray(v, np.float32), (n,)).copy() for name, v in values.items()})
    w["steps"] = np.arange(1, n + 1)
    return w


def facts(cfg):
    """What the detectors know of a run that starts from cfg."""
    return RunFacts(settings_of(cfg, 1), cfg.is_2d, cfg.loss.kind)


def test_each_detector_is_silent_on_a_healthy_window_and_fires_on_its_failure():
    cfg = facts(resolve("digits"))
    h = resolve("digits").health
    assert d_overpowers(window(), h, cfg) is None
    beaten = d_overpowers(window(real_violation_rate=0.0, fake_violation_rate=0.01, d_loss=0.002,
                                 g_loss=np.linspace(2, 6, 500)), h, cfg)
    assert beaten.evidence["g_loss_second_half"] > beaten.evidence["g_loss_first_half"]
    assert beaten.action["kind"] == "set_learning_rates"  # SN is already on: halve D's rate

    assert diverging(window(50), h, cfg) is None
    assert diverging(window(50, d_real_mean=80.0, d_fake_mean=-75.0), h, cfg).evidence["mean_abs_score"] > 20
    assert diverging(window(50, d_real_mean=np.nan), h, cfg) is not None

    assert stalled(window(2000), 0.05, h, cfg) is None  # samples still change
    assert stalled(window(2000), 0.0001, h, cfg) is not None
    assert stalled(window(2000, g_loss=np.linspace(0, 1, 2000)), 0.0001, h, cfg) is None  # G's loss moves

    learned = {"diversity": 0.9, "present": 10}
    assert g_collapse({"step": 1000, "diversity_cnn": 0.9, "classes_present": 10, "classes_total": 10}, learned, h,
                      cfg) is None
    assert "3 of 10 classes" in g_collapse({"step": 1000, "diversity_cnn": 0.9, "classes_present": 3,
                                            "classes_total": 10}, learned, h, cfg).message
    assert "spread" in g_collapse({"step": 1000, "diversity_cnn": 0.2}, learned, h, cfg).message
    ring8 = facts(resolve("ring8"))
    assert g_collapse({"step": 10, "modes_covered": 2, "modes_total": 8}, {"present": 8}, h, ring8) is not None
    assert g_collapse({"step": 10, "modes_covered": 2, "modes_total": 8}, {"present": 2}, h, ring8) is None  # not
    # collapsed: it has not learned more yet


def test_the_monitor_raises_once_and_clears_when_the_failure_ends():
    cfg = resolve("digits", overrides=["eval.every=0"])
    monitor, run = HealthMonitor(cfg.health, evaluated=False), facts(cfg)
    beaten = window(600, real_violation_rate=0.0, fake_violation_rate=0.0, d_loss=0.0)
    steps = beaten.pop("steps")
    first = monitor.update(run, 300, steps[:300], {k: v[:300] for k, v in beaten.items()})
    assert first == [] and monitor.readings["d_overpowers"].state == "warming up"
    raised = monitor.update(run, 600, steps[300:], {k: v[300:] for k, v in beaten.items()})
    assert [(e["kind"], e["name"], e["since"]) for e in raised] == [("alert", "d_overpowers", 101)]
    assert monitor.update(run, 601, np.array([601]), {k: v[:1] for k, v in beaten.items()}) == []  # still on: no repeat
    healthy = window(500)
    steps = healthy.pop("steps") + 601
    assert monitor.update(run, 1101, steps, healthy) == []  # healthy again, but not yet for a whole window
    assert monitor.readings["d_overpowers"].state == "alert"
    cleared = monitor.update(run, 1601, steps + 500, healthy)
    assert [(e["kind"], e["name"], e["why"]) for e in cleared] == [("alert_cleared", "d_overpowers", "recovered")]
    assert monitor.readings["g_collapse"].state == "off"  # no evaluations to judge it on
