"""hinge-train as a user runs it: its main() called in this process (as the console script calls it), on
real files; one run as a real process, through `python -m core.cli`."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.cli import main
from core.training.checkpoint import load_checkpoint
from tests.core.helpers import heartbeat, wait_until

TINY = ["--set", "train.batch_size=8", "--set", "model.g_width=4", "--set", "model.d_width=4",
        "--set", "data.n_samples=100", "--set", "model.z_dim=8"]


@pytest.fixture(autouse=True)
def normal_scheduling():
    """hinge-train trains under SCHED_BATCH; in this process, only for as long as a test runs it."""
    yield
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def hinge_train(*args, check=True):
    """`hinge-train ARGS`: its exit status, and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse refusing an option
            code = exc.code
    result = SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_hinge_train_runs_as_a_module_and_exits_with_its_status(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "core.cli", "train", "--preset", "ring8", "--steps", "3",
                           "--set", "train.batch_size=16", "--run-dir", str(run)], capture_output=True, text=True,
                          timeout=100)
    assert done.returncode == 0, done.stderr
    assert "done at step 3" in done.stderr and load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 3
    refused = subprocess.run([sys.executable, "-m", "core.cli", "train", "--set", "train.n_dis=0"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stderr.strip().startswith("hinge-train: error: train.n_dis")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_background_run_cleanly_with_its_checkpoint(tmp_path, sig):
    """kill, a scheduler, or Ctrl+C's signal sent to a run a shell started in the background (SIGINT ignored
    there): the run stops at a step boundary and saves last.pt at the step it reached."""
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "core.cli", "train", "--preset", "ring8", "--steps", "10000000",
                                "--set", "train.batch_size=16", "--run-dir", str(run)], stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    wait_until(lambda: heartbeat(run).get("step", 0) > 20, timeout=60)
    process.send_signal(sig)
    _, said = process.communicate(timeout=60)
    assert process.returncode == 130, said
    step = load_checkpoint(run / "checkpoints" / "last.pt")["step"]
    assert f"interrupted at step {step}" in said and step > 20


def test_presets_lists_them():
    out = hinge_train("presets").stdout
    assert "ring8" in out and "digits" in out and "grid25" in out


def test_the_progress_line_shows_no_loss_before_the_first_step_and_the_last_one_after():
    from core.tools.train import Progress
    from core.protocol.telemetry import Scores, Settings, Telemetry

    def published(losses):
        return Telemetry(step=len(losses), state="running", elapsed_s=0.0, steps_per_s=0.0,
                         settings=Settings(1.0, 1.0, True, 2e-4, 2e-4, 1, 1), steps=np.arange(len(losses)),
                         scalars={"d_loss": np.array(losses)}, scores=Scores.empty(0, np.zeros(1)))

    stream = io.StringIO()
    progress = Progress(0, 10, stream)
    progress(published([]))
    progress.last_line = 0.0  # off a terminal it writes a line every 5 s: let the next one through now
    progress(published([1.5, 1.25]))
    first, second = stream.getvalue().splitlines()
    assert "d_loss --" in first and "d_loss 1.250" in second


def test_train_writes_a_complete_run_and_sample_reads_it(tmp_path):
    run = tmp_path / "run"
    hinge_train("train", "--preset", "digits", *TINY, "--steps", 12, "--seed", 3, "--set", "eval.every=0",
                "--run-dir", run)
    assert {p.name for p in run.iterdir()} >= {"config.json", "metrics.csv", "events.jsonl", "checkpoints", "samples"}
    recorded = json.loads((run / "config.json").read_text())["train"]
    assert recorded["seed"] == 3 and recorded["precision"] in ("fp32", "bf16")  # the preset's "auto" as chosen
    assert len((run / "metrics.csv").read_text().splitlines()) == 13
    out = tmp_path / "s.npy"
    hinge_train("sample", "--checkpoint", run / "checkpoints" / "last.pt", "--n", 10, "--out", out)
    images = np.load(out)
    assert images.dtype == np.uint8 and images.shape == (10, 32, 32, 1)


def test_sample_2d_is_float32_points(tmp_path):
    run = tmp_path / "ring"
    hinge_train("train", "--preset", "ring8", "--steps", 5, "--set", "train.batch_size=16", "--run-dir", run)
    out = tmp_path / "p.npy"
    hinge_train("sample", "--checkpoint", run / "checkpoints" / "last.pt", "--n", 2500, "--out", out, "--seed", 1)
    points = np.load(out)
    assert points.dtype == np.float32 and points.shape == (2500, 2)


def test_eval_prints_the_metrics_of_the_checkpoints_own_samples(tmp_path):
    from core.training.data import ring8_centers
    from core.quality.evaluator import strict_json
    from core.quality.metrics import mixture_metrics

    run = tmp_path / "ring"
    hinge_train("train", "--preset", "ring8", "--steps", 300, "--set", "train.batch_size=16", "--run-dir", run)
    checkpoint = run / "checkpoints" / "last.pt"
    result = json.loads(hinge_train("eval", "--checkpoint", checkpoint, "--n", 500, "--seed", 7).stdout)
    assert result["step"] == 300 and result["n"] == 500 and result["preset"] == "ring8"
    hinge_train("sample", "--checkpoint", checkpoint, "--n", 500, "--seed", 7, "--out", tmp_path / "p.npy")
    expected = strict_json(mixture_metrics(np.load(tmp_path / "p.npy"), ring8_centers().numpy(), 0.01))
    assert {k: result[k] for k in expected} == pytest.approx(expected)


def test_compare_trains_each_loss_and_prints_a_table(tmp_path):
    result = hinge_train("compare", "--presets", "ring8", "--losses", "hinge,wasserstein", "--steps", 20,
                         "--set", "train.batch_size=16", "--out", tmp_path)
    lines = result.stdout.strip().splitlines()
    rows = json.loads(lines[-1])
    assert [(r["loss"], r["steps"]) for r in rows] == [("hinge", 20), ("wasserstein", 20)]
    assert lines[0].startswith("| ring8 | steps") and any(line.startswith("| wasserstein | 20 |") for line in lines)
    for loss in ("hinge", "wasserstein"):
        config = json.loads((tmp_path / f"ring8-{loss}" / "config.json").read_text())
        assert config["loss"]["kind"] == loss and config["model"]["spectral_norm"] is True


def test_replaying_events_reproduces_the_weights(tmp_path):
    from core.protocol import commands as C
    from core.config import resolve
    from tests.core.helpers import assert_same_weights, run_session, weights

    cfg = resolve("ring8", overrides=["train.batch_size=16", "model.mlp_hidden=16"])
    live = run_session(cfg, tmp_path / "live", 30, commands=[C.SetMargins(0.5, 0.7), C.SetSpectralNorm(True),
                                                              C.Pause(), C.Step(30)])
    hinge_train("train", "--config", tmp_path / "live" / "config.json", "--set", "loss.margin_real=1",
                "--set", "loss.margin_fake=1", "--set", "model.spectral_norm=false",
                "--events", tmp_path / "live" / "events.jsonl", "--steps", 30, "--run-dir", tmp_path / "replay")
    replayed = load_checkpoint(tmp_path / "replay" / "checkpoints" / "last.pt")
    from core.training.trainer import Trainer
    from core.config import from_dict
    t = Trainer(from_dict(replayed["config"]), "cpu")
    t.load_state_dict(replayed)
    assert_same_weights(weights(live.trainer), weights(t))
    assert t.settings.margin_real == 0.5 and t.settings.spectral_norm


def test_resume_from_the_cli_continues_the_run(tmp_path):
    run = tmp_path / "run"
    hinge_train("train", "--preset", "ring8", "--steps", 10, "--set", "train.batch_size=16", "--run-dir", run)
    hinge_train("train", "--resume", run / "checkpoints" / "last.pt", "--steps", 10)
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 20
    assert len((run / "metrics.csv").read_text().splitlines()) == 21


def test_resume_applies_the_settings_it_is_given(tmp_path):
    """A resume's --set takes effect exactly as the same change made live at that step would."""
    from core.config import from_dict
    from core.training.trainer import Trainer
    from tests.core.helpers import assert_same_weights, weights

    first = tmp_path / "a"
    hinge_train("train", "--preset", "ring8", "--steps", 50, "--set", "train.batch_size=32", "--run-dir", first)
    hinge_train("train", "--resume", first / "checkpoints" / "last.pt", "--steps", 5, "--set", "optim.lr_d=0.0123",
                "--set", "model.spectral_norm=true", "--run-dir", tmp_path / "b")
    resumed = load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")
    assert [g["lr"] for g in resumed["opt_d"]["param_groups"]] == [0.0123]
    assert len(resumed["sn_layers"]) == 5
    rows = (tmp_path / "b" / "metrics.csv").read_text().splitlines()
    assert all(",0.0123," in row and row.split(",")[12] == "1" for row in rows[1:])
    events = [json.loads(line) for line in (tmp_path / "b" / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "forked" and e["from_step"] == 50 and
               e["changed"] == {"optim.lr_d": [0.0005, 0.0123], "model.spectral_norm": [False, True]} for e in events)
    # the same changes as live commands at step 50 of one uninterrupted run
    (tmp_path / "changes.jsonl").write_text('{"step": 50, "kind": "set_learning_rates", "lr_d": 0.0123}\n'
                                            '{"step": 50, "kind": "set_spectral_norm", "enabled": true}\n')
    hinge_train("train", "--preset", "ring8", "--steps", 55, "--set", "train.batch_size=32",
                "--events", tmp_path / "changes.jsonl", "--run-dir", tmp_path / "live")
    live = load_checkpoint(tmp_path / "live" / "checkpoints" / "last.pt")
    trainers = []
    for state in (resumed, live):
        trainer = Trainer(from_dict(state["config"]), "cpu")
        trainer.load_state_dict(state)
        trainers.append(trainer)
    assert_same_weights(weights(trainers[0]), weights(trainers[1]))


def test_a_fork_with_unchanged_settings_repeats_its_parents_next_steps_bit_for_bit(tmp_path):
    from core.config import from_dict
    from core.training.trainer import Trainer
    from tests.core.helpers import assert_same_weights, weights

    parent, fork = tmp_path / "parent", tmp_path / "fork"
    hinge_train("train", "--preset", "ring8", "--steps", 30, "--set", "train.batch_size=32", "--set", "train.threads=1",
                "--set", "train.checkpoint_every=15", "--run-dir", parent)
    hinge_train("train", "--resume", parent / "checkpoints" / "step-15.pt", "--steps", 15, "--run-dir", fork)
    record = json.loads((fork / "config.json").read_text())
    assert record["parent"] == {"run_dir": str(parent.resolve()), "step": 15,
                                "checkpoint": str((parent / "checkpoints" / "step-15.pt").resolve())}
    assert record["train"] == json.loads((parent / "config.json").read_text())["train"]
    trainers = []
    for run in (parent, fork):
        state = load_checkpoint(run / "checkpoints" / "last.pt")
        trainer = Trainer(from_dict(state["config"]), "cpu")
        trainer.load_state_dict(state)
        trainers.append(trainer)
    assert trainers[0].step == trainers[1].step == 30
    assert_same_weights(weights(trainers[0]), weights(trainers[1]))
    without_time = lambda line: line.split(",", 2)[::2]  # noqa: E731 - step and values, not wall time
    parent_rows = (parent / "metrics.csv").read_text().splitlines()
    assert [without_time(r) for r in (fork / "metrics.csv").read_text().splitlines()[1:]] == \
        [without_time(r) for r in parent_rows[16:]]
    hinge_train("train", "--resume", fork / "checkpoints" / "last.pt", "--steps", 1)  # the fork resumed in place
    assert json.loads((fork / "config.json").read_text())["parent"] == record["parent"]


def test_resume_refuses_what_it_cannot_change_before_touching_anything(tmp_path):
    run = tmp_path / "a"
    hinge_train("train", "--preset", "ring8", "--steps", 5, "--set", "train.batch_size=16", "--run-dir", run)
    result = hinge_train("train", "--resume", run / "checkpoints" / "last.pt", "--set", "model.mlp_hidden=64",
                         "--run-dir", tmp_path / "b", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hinge-train: error: a resume cannot change model.mlp_hidden (the checkpoint has 128, asked for 64): it "
        "shapes the models, the data or the saved random state; start a new run instead"]
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("args, words", [
    (["train", "--preset", "nosuch"], "no preset named"),
    (["train", "--set", "loss.margin_real=nan"], "loss.margin_real"),
    (["train", "--set", "train.n_dis=0"], "train.n_dis"),
    (["train", "--preset", "folder", "--set", "data.root=/no/such/dir"], "not found"),
    (["train", "--config", "/no/such.json"], "not found"),
    (["train", "--resume", "/no/such.pt"], "not found"),
    (["train", "--set", "train.batch_size=100000"], "fewer than one batch"),
    (["sample", "--checkpoint", "/no/such.pt", "--n", "4", "--out", "x.npy"], "not found"),
    (["sample", "--checkpoint", "/no/such.pt", "--n", "0", "--out", "x.npy"], "--n"),
    (["eval", "--checkpoint", "/no/such.pt"], "not found"),
    (["train", "--set", "eval.inception=/no/such.pth"], "eval.inception"),
    (["train", "--set", "train.g_ema=1.5"], "train.g_ema"),
    (["train", "--set", "eval.n=3"], "eval.n"),
    (["compare", "--losses", "hinge,l2"], "unknown loss 'l2'"),
    (["compare", "--presets", "ring8,nosuch"], "no preset named"),
    (["train", "--device", "cuda"] if not torch.cuda.is_available() else ["train", "--preset", "x"], "cuda|preset"),
])
def test_user_mistakes_give_one_line_and_nonzero_exit(tmp_path, args, words):
    result = hinge_train(*args, "--run-dir" if args[0] == "train" else "--seed", tmp_path / "r"
                         if args[0] == "train" else 0, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("hinge-train: error:"), result.stderr
    import re
    assert re.search(words, lines[-1])


def test_unwritable_run_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = hinge_train("train", "--preset", "ring8", "--steps", 1, "--run-dir", blocker / "run", check=False)
    assert result.returncode == 2 and "cannot write the run directory" in result.stderr
