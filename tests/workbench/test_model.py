import queue

import numpy as np
import pytest

from core.protocol.telemetry import STAT_NAMES
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


def test_a_rewound_run_read_from_its_directory_shows_one_row_per_step_and_the_abandoned_branch(tmp_path):
    """A session rewinds from step 250 to step-100.pt while a follower (the attached window's reader) polls
    its files; the model built from the follower's telemetry keeps steps 1-300 once, and 101-250 as a branch."""
    from core.protocol import commands as C
    from core.config import resolve
    from core.training.trainer import Trainer
    from core.storage.follow import RunFollower
    from core.storage.rundir import RunDir
    from core.session import Session
    from workbench.model import RunModel

    cfg = resolve("ring8", overrides=["train.threads=1", "train.checkpoint_every=100", "eval.every=0",
                                      "train.batch_size=64"])
    session = Session(Trainer(cfg, "cpu"), RunDir(tmp_path), max_steps=300)
    follower, model, sent = None, RunModel(), []

    def inbox(timeout):
        nonlocal follower
        step = session.trainer.step
        if step in (120, 250) and step not in sent:
            session.publisher.publish()  # what the session's timer would have written by now
            follower = follower or RunFollower(tmp_path)
            model.ingest(follower.poll())
            sent.append(step)
            if step == 250:
                return C.Rewind(to_step=150)
        return None

    session.run(inbox)
    assert model.history.steps.max() == 250
    model.ingest(follower.poll())  # the cut files, read again from the rewound step
    assert list(model.history.steps) == list(range(1, 301))
    assert [e["kind"] for e in model.log].count("rewind") == 1


def test_the_inside_margin_label_reads_the_samples_of_the_histograms_beside_it(qtbot, tmp_path):
    """A real session's telemetry, several steps to a frame: the label's shares are those of the samples the
    histograms show (margins on bin edges, so the histograms can be counted), not of the last step alone."""
    from core.protocol.commands import queue_inbox
    from core.config import resolve
    from core.training.trainer import Trainer
    from core.storage.rundir import RunDir
    from core.session import Session
    from workbench.docks.margins import MarginsDock
    from workbench.model import RunModel

    cfg = resolve("ring8", overrides=["train.threads=1", "eval.every=0", "train.batch_size=64",
                                      "train.publish_every_s=0.02"])
    model = RunModel()
    dock = MarginsDock(model, send=lambda command: None)
    qtbot.addWidget(dock)
    frames = []

    def publish(t):
        model.ingest(t)
        dock.refresh(model)
        s = t.scores
        if s.counted and len(t.steps) > 1:
            left, right = s.edges[:-1], s.edges[1:]
            shown = (s.real[right <= 1.0].sum() / s.real.sum(),  # D(real) < +1
                     s.fake[left >= -1.0].sum() / s.fake.sum())  # D(fake) > -1
            frames.append((shown, t.scalars["fake_violation_rate"][-1], dock.rates.text()))

    Session(Trainer(cfg, "cpu"), RunDir(tmp_path), max_steps=400, publish=publish).run(queue_inbox(queue.Queue()))
    assert len(frames) > 5
    for (real, fake), _, label in frames:
        assert f"real {real:.0%}" in label and f"fake {fake:.0%}" in label
    assert any(f"{fake:.0%}" != f"{last_step:.0%}" for (_, fake), last_step, _ in frames)  # the old label's error
