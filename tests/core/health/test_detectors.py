"""The health detectors and their monitor, on windows of numbers: each silent on a healthy run and firing on
the failure it names; an alert raised once and cleared when the failure ends."""
import numpy as np

from core.config import resolve, settings_of
from core.health import HealthMonitor, RunFacts, d_overpowers, diverging, g_collapse, not_covering, stalled
from core.protocol.telemetry import STAT_NAMES, Settings


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
    return RunFacts(settings_of(cfg, 1), cfg.is_2d)


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

    assert stalled(window(2000), 0.05, 1e-6, h, cfg) is None  # samples still change
    assert stalled(window(2000), 0.0001, 1e-6, h, cfg) is not None
    assert stalled(window(2000, g_loss=np.linspace(0, 1, 2000)), 0.0001, 1e-6, h, cfg) is None  # G's loss moves
    assert stalled(window(2000), 0.0001, 0.05, h, cfg) is None  # converged: G moves, its moves balance

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


def test_the_diverging_alert_says_the_limit_it_used():
    run = RunFacts(Settings(0.8, 0.8, True, 2e-4, 2e-4, 1, 1), is_2d=False)
    h = resolve("digits").health
    message = diverging(window(50, d_real_mean=41.0, d_fake_mean=-41.0), h, run).message
    assert "over the limit of 20 (20 times 1, as both margins (0.8 at most) are under 1)" in message
    wide = RunFacts(Settings(2.0, 1.5, True, 2e-4, 2e-4, 1, 1), is_2d=False)
    assert "limit of 40 (20 times the larger margin, 2)" in diverging(window(50, d_real_mean=60.0), h, wide).message


def test_a_run_that_never_covers_the_data_is_flagged_and_one_still_improving_is_not():
    h, run = resolve("ring8").health, RunFacts(Settings(1, 1, False, 3e-3, 3e-3, 1, 1), is_2d=True)

    def judge(coverages):
        seen, raised = [], []
        for step, present in coverages:
            finding = not_covering({"step": step, "modes_covered": present, "modes_total": 8}, seen, h, run)
            raised.append(finding is not None)
            seen.append((step, present))
        return raised

    stuck = judge([(500, 4), (1000, 6), (1500, 3), (2000, 5), (2500, 4), (3000, 2), (3500, 8), (4000, 5)])
    assert stuck == [False, False, False, False, False, True, True, False]  # past the warm-up and no better than
    # the evaluations before: flagged; once the median rises (4000: 5 of 8 against 4), it is improving
    assert not any(judge([(500, 3), (1000, 4), (1500, 5), (2000, 5), (2500, 6), (3000, 7), (3500, 8)]))
    assert not any(judge([(step, 8) for step in range(500, 6000, 500)]))  # a healthy run
    finding = not_covering({"step": 3000, "classes_present": 4, "classes_total": 10},
                           [(s, 5) for s in range(500, 3000, 500)], h, run)
    assert "a median of 5 of 10 classes" in finding.message and finding.action["kind"] == "set_learning_rates"


def test_the_monitor_judges_coverage_only_where_scores_come():
    from core.health import HealthMonitor

    assert HealthMonitor(resolve("ring8").health, evaluated=False).readings["not_covering"].state == "off"
    monitor = HealthMonitor(resolve("ring8").health, evaluated=True)
    run = RunFacts(Settings(1, 1, False, 3e-3, 3e-3, 1, 1), is_2d=True)
    events = []
    for step, present in [(500, 4), (1000, 6), (1500, 3), (2000, 5), (2500, 4), (3000, 4)]:
        events += monitor.update(run, step, np.zeros(0, int), {}, [{"step": step, "modes_covered": present,
                                                                   "modes_total": 8}])
    assert [e["kind"] for e in events if e["name"] == "not_covering"] == ["alert"]
    assert monitor.readings["not_covering"].signal == 0.5 and monitor.readings["not_covering"].state == "alert"


def test_under_wasserstein_d_overpowers_stands_down_and_says_why():
    monitor = HealthMonitor(resolve("digits").health, evaluated=False)
    beaten = window(600, real_violation_rate=0.0, fake_violation_rate=0.0, d_loss=0.0)
    steps = beaten.pop("steps")
    hinge = RunFacts(Settings(1, 1, True, 2e-4, 2e-4, 1, 1, "hinge"), is_2d=False)
    raised = monitor.update(hinge, 600, steps, beaten)
    assert [e["name"] for e in raised] == ["d_overpowers"]
    critic = RunFacts(Settings(1, 1, True, 2e-4, 2e-4, 1, 1, "wasserstein"), is_2d=False)
    cleared = monitor.update(critic, 601, steps[:1] + 600, {k: v[:1] for k, v in beaten.items()})
    assert [(e["kind"], e["name"]) for e in cleared] == [("alert_cleared", "d_overpowers")]
    reading = monitor.readings["d_overpowers"]
    assert reading.state == "off" and "no zero to sink to" in reading.note


def probes(gaps, d_train=1.2, d_fake=-1.0, start=200, every=200):
    """D's probes where the held-out reals sit `gap` of the way from the trained reals' score to the fakes'."""
    return [{"step": start + i * every, "d_train": d_train, "d_held": d_train - g * (d_train - d_fake),
             "d_fake": d_fake, "r_t": 0.9} for i, g in enumerate(gaps)]


def test_d_memorising_is_flagged_from_the_held_out_reals_drifting_towards_the_fakes():
    from core.health import d_memorises

    h, run = resolve("digits").health, facts(resolve("digits"))
    assert d_memorises(probes([0.05] * 5), h, run) is None  # held-out scored as trained: D learned the data
    assert d_memorises(probes([0.9] * 5, d_train=0.03, d_fake=0.0), h, run) is None  # D does not separate yet
    found = d_memorises(probes([0.3, 0.5, 0.6, 0.7, 0.8]), h, run)
    assert abs(found.evidence["gap"] - 0.58) < 1e-9  # the mean over the window
    assert found.action == {"kind": "set_augment", "policies": "color,translation,cutout"}
    assert "held-out reals score" in found.message and "r_t 0.90" in found.message
    augmented = RunFacts(settings_of(resolve("digits", overrides=["train.augment=color,translation,cutout"]), 1), False)
    assert d_memorises(probes([0.8] * 5), h, augmented).action["kind"] == "set_learning_rates"  # aug already full
    assert d_memorises(probes([0.3] * 5), h, run, active=True) is not None  # holds until under half the threshold


def test_the_monitor_judges_memorising_only_with_held_out_images_and_after_a_window_of_probes():
    cfg = resolve("digits")
    assert HealthMonitor(cfg.health, evaluated=False).readings["d_memorises"].state == "off"
    monitor, run, none = HealthMonitor(cfg.health, evaluated=False, held_out=True), facts(cfg), np.zeros(0, int)
    events = []
    for probe in probes([0.1, 0.1, 0.2, 0.7, 0.8, 0.9, 0.9, 0.9]):
        events += monitor.update(run, probe["step"], none, {}, probe=probe)
        if probe["step"] == 200:
            assert monitor.readings["d_memorises"].state == "warming up"
    raised = [e for e in events if e["name"] == "d_memorises"]
    assert [(e["kind"], e["step"]) for e in raised] == [("alert", 1200)]  # 0.1, 0.2, 0.7, 0.8, 0.9: mean 0.54
    assert raised[0]["since"] == 800  # the first probe in the window past the threshold
