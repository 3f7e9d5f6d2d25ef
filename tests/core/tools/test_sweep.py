"""Sweeps: arms from the grid, every arm trained per seed as a real run directory, failed runs counted against
their arm, nothing retrained when the same command runs again, an interrupted sweep continued, and two
workers sharing one sweep folder."""
import json
import os
import signal
import subprocess
import sys
from argparse import Namespace

import pytest

from core.base.errors import UserError
from core.base.files import read_jsonl
from core.storage.sweeps import Sweep, arm_name, open_sweep, summary
from tests.core.helpers import metrics_rows, wait_until

RING = ["--set", "train.batch_size=64", "--set", "model.mlp_hidden=32", "--set", "train.checkpoint_every=100"]


def plan(tmp_path, **given):
    args = Namespace(**{"preset": "ring8", "set": [], "grid": ["loss.margin_real=0.5,1", "optim.lr_d=1e-3,5e-4"],
                        "seeds": 2, "steps": 100, "minutes": None, "start_from": None, "device": "cpu",
                        "metric": None, "parallel": 1, "out": str(tmp_path), "worker": None, **given})
    return Sweep.plan(args)


def test_every_combination_of_the_grid_is_an_arm_trained_once_per_seed(tmp_path):
    sweep = plan(tmp_path)
    assert [arm_name(a) for a in sweep.arms] == ["margin_real-0.5_lr_d-1e-3", "margin_real-0.5_lr_d-5e-4",
                                                 "margin_real-1_lr_d-1e-3", "margin_real-1_lr_d-5e-4"]
    runs = sweep.runs(tmp_path)
    assert len(runs) == 8 and {r.seed for r in runs} == {0, 1}
    assert sweep.overrides_of(runs[1])[-1] == "train.seed=1" and sweep.metric == "high_quality_rate"
    with pytest.raises(UserError, match="loss.margin_real"):
        plan(tmp_path, grid=["loss.margin_real=0.5,nan"])  # a bad value fails before any training
    with pytest.raises(UserError, match="--seeds must be 1"):
        plan(tmp_path, start_from="x.pt")


def test_arms_that_would_train_the_same_are_refused_naming_why(tmp_path):
    """Under BCE (or Wasserstein) the margins do nothing: a margin sweep would train identical arms."""
    with pytest.raises(UserError, match="would train the same; loss.margin_real: only the hinge loss has margins"):
        plan(tmp_path, set=["loss.kind=bce"], grid=["loss.margin_real=0.5,1"])
    with pytest.raises(UserError, match="kind-bce_margin_real-0.5 and kind-bce_margin_real-1 would train the same"):
        plan(tmp_path, grid=["loss.kind=hinge,bce", "loss.margin_real=0.5,1"])
    sweep = plan(tmp_path, set=["loss.kind=bce"], grid=["loss.kind=hinge", "loss.margin_real=0.5,1"])
    assert len(sweep.arms) == 2  # under the hinge the margins count
    with pytest.raises(UserError, match="would train the same"):
        plan(tmp_path, grid=["optim.lr_d=1e-3,0.001"])  # one value typed twice


def test_settings_that_move_together_are_one_grid_entry(tmp_path):
    sweep = plan(tmp_path, grid=["loss.margin_real,loss.margin_fake=0.5/0.5,2/0.5", "optim.lr_d=1e-3,5e-4"], seeds=1)
    assert sweep.arms[1] == {"loss.margin_real": "0.5", "loss.margin_fake": "0.5", "optim.lr_d": "5e-4"}
    assert [arm_name(a) for a in sweep.arms][2] == "margin_real-2_margin_fake-0.5_lr_d-1e-3" and len(sweep.arms) == 4
    with pytest.raises(UserError, match="needs 2 values joined by '/'"):
        plan(tmp_path, grid=["loss.margin_real,loss.margin_fake=0.5,2/0.5"])


def test_failed_runs_count_against_their_arm_and_another_sweep_is_refused(tmp_path):
    sweep = open_sweep(tmp_path, plan(tmp_path, grid=["loss.margin_real=0.5,1"]))
    results = {("margin_real-0.5", 0): ("done", 0.97), ("margin_real-0.5", 1): ("failed", None),
               ("margin_real-1", 0): ("done", 0.95), ("margin_real-1", 1): ("done", 0.93)}
    for run in sweep.runs(tmp_path):
        state, score = results[arm_name(sweep.arms[run.arm]), run.seed]
        run.path.mkdir(parents=True)
        (run.path / "sweep-result.json").write_text(json.dumps({"state": state, "score": score}))
    rows = summary(sweep, tmp_path)
    assert [(r["arm"], r["failed"]) for r in rows] == [("margin_real-1", 0), ("margin_real-0.5", 1)]
    assert rows[0]["mean"] == pytest.approx(0.94) and rows[1]["mean"] == pytest.approx(0.97)
    with pytest.raises(UserError, match="holds another sweep"):
        open_sweep(tmp_path, plan(tmp_path, grid=["loss.margin_real=2"]))


def hinge_train(*args, **popen):
    return subprocess.Popen([sys.executable, "-m", "core.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def sweep_args(out, steps=300):
    return ["sweep", "--preset", "ring8", *RING, "--grid", "loss.margin_real=0.5,1", "--seeds", 2, "--steps", steps,
            "--device", "cpu", "--out", out]


@pytest.mark.slow
@pytest.mark.timeout(360)  # four small runs, two at a time, and the same command again
def test_a_sweep_trains_ranks_and_is_not_redone(tmp_path):
    done = hinge_train(*sweep_args(tmp_path, 200), "--parallel", 2)
    out, err = done.communicate(timeout=240)
    assert done.returncode == 0, err
    ranked = json.loads(out.strip().splitlines()[-1])["arms"]
    assert {a["arm"] for a in ranked} == {"margin_real-0.5", "margin_real-1"}
    for arm in ranked:
        own = [read_jsonl(tmp_path / "runs" / f"{arm['arm']}-seed-{seed}" / "quality.jsonl")[-1] for seed in (0, 1)]
        assert arm["scores"] == [q["high_quality_rate"] for q in own] and arm["failed"] == 0
    assert (tmp_path / "summary.csv").read_text().count("\n") == 3
    results = {p: p.stat().st_mtime_ns for p in tmp_path.glob("runs/*/sweep-result.json")}
    again = hinge_train(*sweep_args(tmp_path, 200))
    assert again.wait(90) == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("runs/*/sweep-result.json")} == results  # nothing redone


@pytest.mark.slow
@pytest.mark.timeout(480)  # four runs of 1,200 steps one at a time, one of them twice in part
def test_an_interrupted_sweep_continues_from_the_last_checkpoint(tmp_path):
    same = (*sweep_args(tmp_path, 1200), "--set", "train.autosave_minutes=0.01",  # last.pt about every second
            "--set", "health.enabled=false")  # this small ring8 does not cover the modes so soon: no matter here
    first = hinge_train(*same, start_new_session=True)
    run = tmp_path / "runs" / "margin_real-0.5-seed-0"
    wait_until(lambda: (run / "checkpoints" / "last.pt").exists() and len(metrics_rows(run)) > 400, timeout=120)
    os.killpg(first.pid, signal.SIGKILL)  # the sweep and its run, as a reboot would
    first.wait()
    second = hinge_train(*same)  # the same command again
    out, err = second.communicate(timeout=330)
    assert second.returncode == 0, err
    steps = [int(r["step"]) for r in metrics_rows(run)]
    assert steps == list(range(1, 1201))  # resumed from its last.pt: one row per step
    assert any(e["kind"] == "resumed" for e in read_jsonl(run / "events.jsonl"))
    assert all(a["failed"] == 0 and None not in a["scores"] for a in json.loads(out.strip().splitlines()[-1])["arms"])


@pytest.mark.slow
@pytest.mark.timeout(420)  # four runs of 400 steps shared by three processes
def test_two_workers_share_one_sweep_folder(tmp_path):
    planned = hinge_train(*sweep_args(tmp_path, 400), "--grid", "optim.lr_g=5e-4,1e-3", "--seeds", 1)
    wait_until(lambda: (tmp_path / "sweep.json").exists(), timeout=60)
    workers = [hinge_train("sweep", "--worker", tmp_path) for _ in range(2)]
    for process in (planned, *workers):
        assert process.wait(360) == 0
    results = list(tmp_path.glob("runs/*/sweep-result.json"))
    assert len(results) == 4 and all(json.loads(p.read_text())["state"] == "done" for p in results)
    for log in tmp_path.glob("runs/*/train.log"):
        assert log.read_text().count("hinge-train: ring8") == 1  # each run trained by exactly one worker
