"""What a long run keeps: the newest checkpoints and every keep_every-th, every recent timelapse frame and
histogram line and a thinning sample of older ones; a rewind to a step no longer kept says so."""
import numpy as np
import pytest

from core.base.errors import UserError
from core.base.files import read_jsonl
from core.protocol import commands as C
from core.storage.retention import RECENT_FRAMES, THIN_EVERY, checkpoints_to_keep, frames_to_keep
from core.storage.rundir import merge_histograms
from tests.core.helpers import run_session


def test_the_newest_checkpoints_are_kept_and_every_keep_every_th():
    steps = list(range(100, 2100, 100))
    assert checkpoints_to_keep(steps, 3, 0) == {1800, 1900, 2000}
    assert checkpoints_to_keep(steps, 3, 500) == {500, 1000, 1500, 1800, 1900, 2000}
    assert checkpoints_to_keep(steps, 0, 0) == set(steps)


def test_the_checkpoint_a_rewind_to_before_the_alert_needs_is_never_pruned():
    steps = list(range(100, 2100, 100))
    assert checkpoints_to_keep(steps, 3, 0, healthy=749) == {700, 1800, 1900, 2000}
    assert checkpoints_to_keep(steps, 3, 0, healthy=50) == {1800, 1900, 2000}  # none that old: nothing extra


def test_frames_thinned_again_and_again_stay_few_and_spread_over_the_whole_run():
    kept = []
    for n, step in enumerate(range(0, 400_000, 7), 1):  # a frame every 7 steps, thinned as a run thins it
        kept.append(step)
        if n % THIN_EVERY == 0:
            kept = sorted(frames_to_keep(kept))
    assert len(kept) < 600  # of 57,143 frames
    assert kept[0] == 0 and kept[-RECENT_FRAMES:] == list(range(0, 400_000, 7))[-RECENT_FRAMES:]
    gaps = np.diff(kept[:-RECENT_FRAMES])
    assert gaps[0] > 4 * gaps[-1]  # spaced further apart the older they are


def test_merged_histogram_lines_keep_the_counts_of_the_dropped_ones():
    lines = [{"step": s, "edges": [0, 1, 2], "real": [s, 1], "fake": [1, s], "real_beyond": [0, 1],
              "fake_beyond": [1, 0]} for s in (10, 20, 30, 40)]
    merged = merge_histograms(lines, {20, 40})
    assert [m["step"] for m in merged] == [20, 40]
    assert merged[0]["real"] == [30, 2] and merged[1]["fake"] == [2, 70] and merged[1]["real_beyond"] == [0, 2]


def test_a_run_keeps_three_checkpoints_and_a_rewind_past_them_says_which_are_kept(tmp_path, tiny_ring_config):
    cfg = tiny_ring_config(checkpoint_every=100, keep_checkpoints=3, keep_every=0)
    session = run_session(cfg, tmp_path, 1000)
    held = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert held == ["last.pt", "step-1000.pt", "step-800.pt", "step-900.pt"]
    with pytest.raises(UserError, match=r"no checkpoint of this run at or before step 500 is kept: checkpoints/ "
                                        r"holds steps 800, 900, 1,000 \(train.keep_checkpoints = 3"):
        session.rewinder.rewind(C.Rewind(to_step=500))


def test_a_run_thins_its_timelapse_and_histograms_without_losing_a_count(tmp_path, tiny_ring_config):
    cfg = tiny_ring_config(samples_every_s=0.001, publish_every_s=0.001)
    run_session(cfg, tmp_path, 1000)  # a frame and a histogram line at nearly every step: thinned on the way
    frames = list((tmp_path / "samples" / "timelapse").glob("step-*.png"))
    lines = read_jsonl(tmp_path / "histograms.jsonl")
    steps = [line["step"] for line in lines]
    assert steps == sorted(steps) and steps[-1] >= 900
    assert RECENT_FRAMES <= len(frames) < 600 and RECENT_FRAMES <= len(lines) < 600  # of about one per step
    real = sum(sum(line["real"]) + sum(line["real_beyond"]) for line in lines)
    assert real == steps[-1] * cfg.train.batch_size  # every D(real) score up to the last line, once
    assert int((tmp_path / "metrics.csv").read_text().splitlines()[-1].split(",")[0]) == 1000
