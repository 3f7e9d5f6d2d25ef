"""Reading a run from its directory, as a window attached from another process does."""
import json
import time

import numpy as np

from core.protocol import commands as C
from core.storage.follow import RunFollower
from tests.core.helpers import metrics_rows, run_session


def test_a_finished_run_reads_back_whole_and_read_only(tmp_path, tiny_ring_config):
    cfg = tiny_ring_config(publish_every_s=0.01, samples_every_s=0.05)
    session = run_session(cfg, tmp_path, 60, commands=[C.SetMargins(0.4, 0.6)])
    follower = RunFollower(tmp_path)
    t = follower.poll()
    rows = metrics_rows(tmp_path)
    assert list(t.steps) == [int(r["step"]) for r in rows] and t.step == 60
    assert np.allclose(t.scalars["d_loss"], [float(r["d_loss"]) for r in rows], rtol=1e-5)
    assert [e["kind"] for e in t.events] == [e["kind"] for e in session.events]
    assert t.state == "done" and not follower.live and "Read-only" in t.message
    assert t.settings.margin_real == 0.4 and t.samples.fake_points.shape[1] == 2 and t.samples.step == 60
    assert t.scores.counted and len(t.scores.edges) == len(t.scores.real) + 1
    again = follower.poll()
    assert len(again.steps) == 0 and again.events == () and again.samples is None  # only what is new


def test_a_writer_that_stopped_beating_is_said_to_be_unseen(tmp_path, tiny_ring_config):
    run_session(tiny_ring_config(), tmp_path, 5)
    beat_path = tmp_path / "live" / "heartbeat.json"
    beat = json.loads(beat_path.read_text())
    beat.update(state="running", wall_time=time.time() - 90)  # a writer killed mid-run
    beat_path.write_text(json.dumps(beat))
    follower = RunFollower(tmp_path)
    t = follower.poll()
    assert not follower.live and t.state == "not seen" and t.steps_per_s == 0
    assert "last seen 90 s ago" in t.message and str(beat["pid"]) in t.message


def test_a_folder_that_is_no_run_is_named(tmp_path):
    import pytest

    from core.base.errors import UserError

    with pytest.raises(UserError, match="not a run directory"):
        RunFollower(tmp_path)
