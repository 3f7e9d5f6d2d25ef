"""Training in several processes (torch.distributed, gloo on the CPU, launched by hinge-train --nproc
through torch's own launcher) trains what one process trains, steered and stopped the same way."""
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn

from core.training.checkpoint import load_checkpoint
from core.distributed.batchnorm import AllReduceBatchNorm2d
from core.tools.launch import without_nproc
from core.storage.inbox import append_command
from tests.core.helpers import events, heartbeat, metrics_rows, wait_until

# Two runs train alike when their losses agree step by step within LOSS_TOLERANCE and their weights end
# within WEIGHT_TOLERANCE of each other, relative to how far training moved them. Float sums in another
# order (DDP averages two half-batch gradients) keep 2 ranks within 1e-3 of one process's losses over 20
# digits steps, as 1 thread against 2 in one process does; a rank normalizing its own half batch drifts
# 0.09 away. Adam turns float noise in near-zero gradients into whole steps, so weights end 0.3-1.3% apart
# even when the losses agree: their tolerance only catches gross errors.
LOSS_TOLERANCE = 0.01
WEIGHT_TOLERANCE = 0.05


def hinge_train(*args, check=True, background=False):
    command = [sys.executable, "-m", "core.cli", "train", "--set", "train.threads=1", "--set", "eval.every=0",
               *map(str, args)]
    if background:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert not check or done.returncode == 0, done.stderr[-3000:]
    return done


def trained(run: Path) -> dict:
    """A run's last weights, named alike with spectral norm on or off (raw weights; no power-iteration vectors)."""
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    return {f"{m}.{k.replace('parametrizations.weight.original', 'weight')}": v.double()
            for m in ("G", "D") for k, v in state[m].items()
            if v.is_floating_point() and "parametrizations.weight.0" not in k}


def assert_trained_alike(a: Path, b: Path, start: Path) -> None:
    rows_a = {r["step"]: r for r in metrics_rows(a)}
    shared = [r for r in metrics_rows(b) if r["step"] in rows_a]
    assert len(shared) >= 8
    for row in shared:
        for name in ("d_loss", "g_loss"):
            assert abs(float(row[name]) - float(rows_a[row["step"]][name])) < LOSS_TOLERANCE, (row["step"], name)
    wa, wb, w0 = trained(a), trained(b), trained(start)
    apart = sum(((wa[k] - wb[k]) ** 2).sum() for k in wa) ** 0.5
    moved = sum(((wa[k] - w0[k]) ** 2).sum() for k in wa) ** 0.5
    assert apart / moved < WEIGHT_TOLERANCE


def ranks_agreed(run: Path) -> bool:
    compared = [e for e in events(run) if e["kind"] == "ranks_compared"]
    return len(compared) == 1 and compared[0]["identical"] and compared[0]["world_size"] == 2


# digits with the shallower G its tolerances were measured on: the preset's deeper G amplifies float-order
# differences about threefold a step (1e-3 in the losses at step 10, 1e-2 at step 12), which hides a rank
# normalizing its own half batch (within 2e-3 of one process over 10 steps). The class-conditional models
# drift apart later but faster (under 1e-3 through step 18, 2e-2 at step 19): compared over 12 steps.
# All in fp32, as measured: the preset's precision "auto" is bf16 on some CPUs, whose rounding would drown them.
# At the preset's learning rates (4e-4) digits' first steps amplify float noise: 1 thread against 2 in one
# process end 0.09 apart in D's loss within 20 steps, as 2 ranks do. At 2e-4 both stay within 5e-4.
FP32 = ("--set", "train.precision=fp32", "--set", "optim.lr_g=2e-4", "--set", "optim.lr_d=2e-4")


@pytest.mark.parametrize("preset, settings, steps", [
    ("ring8", (), 20),
    ("digits", (*FP32, "--set", "model.g_depth=1"), 12),  # class-conditional: rows keep their labels
], ids=["ring8", "digits"])
@pytest.mark.slow
@pytest.mark.timeout(360)  # two processes training, and a run to compare them with
def test_two_processes_train_the_weights_of_one_process(tmp_path, preset, settings, steps):
    common = ("--preset", preset, "--seed", 5, *settings)
    hinge_train(*common, "--steps", 0, "--run-dir", tmp_path / "start")
    hinge_train(*common, "--steps", steps, "--run-dir", tmp_path / "one")
    hinge_train(*common, "--steps", steps, "--run-dir", tmp_path / "two", "--nproc", 2)

    assert_trained_alike(tmp_path / "one", tmp_path / "two", tmp_path / "start")
    assert ranks_agreed(tmp_path / "two")
    one, two = metrics_rows(tmp_path / "one"), metrics_rows(tmp_path / "two")
    assert [r["step"] for r in two] == [str(s) for s in range(1, steps + 1)]
    for a, b in zip(one, two):  # statistics summed over the ranks: the global batch's
        for name in ("d_real_mean", "real_violation_rate", "fake_violation_rate"):
            assert float(b[name]) == pytest.approx(float(a[name]), abs=0.02), (a["step"], name)


@pytest.mark.slow
@pytest.mark.timeout(360)  # two processes training, and a run to compare them with
def test_two_processes_train_in_bf16(tmp_path):
    hinge_train("--preset", "digits", "--set", "train.precision=bf16", "--set", "model.g_width=16", "--set",
                "model.d_width=16", "--steps", 3, "--run-dir", tmp_path / "run", "--nproc", 2)
    assert ranks_agreed(tmp_path / "run") and len(metrics_rows(tmp_path / "run")) == 3


def children(pid: int) -> dict[int, int]:
    """{rank: pid} of the worker processes a launcher started."""
    ranks = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                env = dict(v.split("=", 1) for v in (entry / "environ").read_text().split("\0") if "=" in v)
                ranks[int(env["RANK"])] = int(entry.name)
        except (OSError, KeyError, IndexError, ValueError):
            continue
    return ranks


@contextlib.contextmanager
def training_in_two_processes(run: Path, *args, until=lambda beat: beat.get("step", 0) > 5):
    """hinge-train train --nproc 2 in the background, once its heartbeat satisfies `until`: (launcher,
    {rank: pid}). Afterwards no process of it may be left."""
    process = hinge_train(*args, "--steps", 10**6, "--nproc", 2, "--run-dir", run, background=True)
    workers = {}
    try:
        wait_until(lambda: until(heartbeat(run)), timeout=120)
        workers = children(process.pid)
        assert sorted(workers) == [0, 1]
        yield process, workers
    finally:
        for pid in [process.pid, *workers.values()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers.values()), timeout=10)  # none
    # outlives its run


@pytest.mark.slow
@pytest.mark.timeout(360)  # two processes training, and a run to compare them with
def test_inbox_commands_reach_both_ranks_at_the_same_step(tmp_path):
    run = tmp_path / "two"
    with training_in_two_processes(run, "--preset", "digits", "--seed", 5, *FP32) as (process, _):
        append_command(run, {"kind": "set_margins", "margin_real": 0.5, "margin_fake": 0.7})
        append_command(run, {"kind": "set_spectral_norm", "enabled": False})
        append_command(run, {"kind": "step", "n": 8})  # then paused: a short run, compared below
        wait_until(lambda: heartbeat(run)["state"] == "paused" and not heartbeat(run)["settings"]["spectral_norm"])
        append_command(run, {"kind": "stop"})
        assert process.wait(60) == 3, process.stderr.read()[-3000:]
    log = events(run)
    switch = next(e for e in log if e["kind"] == "set_spectral_norm")
    assert switch["adam_moments_reset"] and switch["source"] == "commands.jsonl:2"
    assert ranks_agreed(run)  # rank 1 made both changes at rank 0's step: the same weights to the last bit
    assert heartbeat(run)["info"]["device"] == "cpu, 2 processes"  # what an attached window's Run dock shows

    stopped_at = next(e for e in log if e["kind"] == "stop")["step"]
    hinge_train("--preset", "digits", "--seed", 5, *FP32, "--steps", 0, "--run-dir", tmp_path / "start")
    hinge_train("--preset", "digits", "--seed", 5, *FP32, "--steps", stopped_at, "--events", run / "events.jsonl",
                "--run-dir", tmp_path / "replayed")
    assert_trained_alike(run, tmp_path / "replayed", tmp_path / "start")


@pytest.mark.slow
@pytest.mark.timeout(360)  # two processes training, and a run to compare them with
def test_a_killed_rank_ends_the_run_with_a_checkpoint_that_loads(tmp_path):
    run = tmp_path / "run"
    with training_in_two_processes(run, "--preset", "digits", until=lambda beat: beat.get("step", 0) > 10) as (
            process, workers):
        os.kill(workers[1], signal.SIGKILL)
        killed = time.monotonic()
        assert process.wait(60) == 1
        ended_within = time.monotonic() - killed
        stderr = process.stderr.read()
    assert ended_within < 20, ended_within
    assert "rank 1 of 2" in stderr and "SIGKILL" in stderr and "--resume" in stderr, stderr
    error = next(e for e in events(run) if e["kind"] == "error")
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["step"] == error["step"] > 10
    assert "Training in 2 processes failed" in error["reason"] and "by peer" in error["reason"]  # reset or closed


@pytest.mark.slow
@pytest.mark.timeout(360)  # two processes training, and a run to compare them with
def test_ctrl_c_stops_every_rank_and_saves(tmp_path):
    run = tmp_path / "run"
    with training_in_two_processes(run, "--preset", "digits") as (process, _):
        process.send_signal(signal.SIGINT)  # what a terminal's Ctrl+C sends the launcher
        assert process.wait(60) == 130
    stop = next(e for e in events(run) if e["kind"] == "stop")
    assert stop["source"] == "signal SIGINT"
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == stop["step"] == int(metrics_rows(run)[-1]["step"])
    assert ranks_agreed(run)


@pytest.mark.slow
@pytest.mark.timeout(360)  # two processes training, and a run to compare them with
def test_a_nan_pauses_every_rank(tmp_path):
    hinge_train("--preset", "ring8", "--steps", 5, "--run-dir", tmp_path / "sound")
    state = load_checkpoint(tmp_path / "sound" / "checkpoints" / "last.pt")
    next(iter(state["G"].values())).fill_(float("nan"))
    torch.save(state, tmp_path / "broken.pt")
    run = tmp_path / "run"
    with training_in_two_processes(run, "--resume", tmp_path / "broken.pt",
                                   until=lambda beat: beat.get("state") == "diverged") as (process, _):
        beat = heartbeat(run)
        wait_until(lambda: heartbeat(run)["wall_time"] > beat["wall_time"] + 1)  # a second of heartbeats later
        assert heartbeat(run)["step"] == beat["step"]  # no rank trains on
        append_command(run, {"kind": "stop"})
        assert process.wait(60) == 3
    assert next(e for e in events(run) if e["kind"] == "diverged")["at_step"] == 6
    assert ranks_agreed(run)  # NaN alike on both ranks


@pytest.mark.parametrize("first, then", [(2, 1), (1, 2)])
@pytest.mark.slow
@pytest.mark.timeout(360)  # two processes training, and a run to compare them with
def test_a_checkpoint_resumes_at_another_world_size(tmp_path, first, then):
    common = ("--preset", "ring8", "--seed", 7)
    hinge_train(*common, "--steps", 0, "--run-dir", tmp_path / "start")
    hinge_train(*common, "--steps", 20, "--run-dir", tmp_path / "straight")
    hinge_train(*common, "--steps", 10, "--run-dir", tmp_path / "first", "--nproc", first)
    hinge_train("--resume", tmp_path / "first" / "checkpoints" / "last.pt", "--steps", 10,
                "--run-dir", tmp_path / "then", "--nproc", then)
    assert load_checkpoint(tmp_path / "then" / "checkpoints" / "last.pt")["step"] == 20
    assert_trained_alike(tmp_path / "straight", tmp_path / "then", tmp_path / "start")


@pytest.mark.parametrize("option, message", [(("--nproc", 3), "multiple of 3"),
                                             (("--nproc", 2, "--set", "train.compile=default"), "one process only"),
                                             (("--nproc", 2, "--steps", -1), "--steps must be >= 0")])
@pytest.mark.slow
@pytest.mark.timeout(360)  # two processes training, and a run to compare them with
def test_what_several_processes_cannot_train_is_refused_once_before_any_starts(tmp_path, option, message):
    done = hinge_train("--preset", "ring8", "--run-dir", tmp_path / "run", *option, check=False)
    assert done.returncode == 2
    assert done.stderr.count("error:") == 1 and message in done.stderr and not (tmp_path / "run").exists()


def test_nproc_is_taken_out_of_the_command_the_ranks_run():
    assert without_nproc(["train", "--nproc", "2", "--steps", "5", "--nproc=3"]) == ["train", "--steps", "5"]


@pytest.fixture
def one_rank_group():
    dist.init_process_group("gloo", rank=0, world_size=1, store=dist.HashStore())
    yield
    dist.destroy_process_group()


def test_all_reduce_batch_norm_takes_bf16_as_batch_norm_does(one_rank_group):
    """Under bf16 autocast a conv hands BatchNorm bf16: statistics in fp32, output in bf16, as torch's own."""
    torch.manual_seed(0)
    plain, summed = nn.BatchNorm2d(6), AllReduceBatchNorm2d(6)
    x = (torch.randn(8, 6, 5, 5) * 3 + 1).bfloat16()
    out_a, out_b = plain(x), summed(x)
    assert out_b.dtype == out_a.dtype == torch.bfloat16
    torch.testing.assert_close(out_b, out_a)
    torch.testing.assert_close(summed.running_var, plain.running_var)


def test_all_reduce_batch_norm_is_batch_norm_in_a_world_of_one(one_rank_group):
    torch.manual_seed(0)
    plain, summed = nn.BatchNorm2d(6), AllReduceBatchNorm2d(6)
    with torch.no_grad():
        plain.weight.uniform_(0.5, 1.5)
        plain.bias.uniform_(-1, 1)
    summed.load_state_dict(plain.state_dict())
    x = torch.randn(8, 6, 5, 5) * 3 + 1
    for _ in range(3):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        out_a, out_b = plain(xa), summed(xb)
        (out_a.square() * torch.arange(6).view(1, 6, 1, 1)).sum().backward()
        (out_b.square() * torch.arange(6).view(1, 6, 1, 1)).sum().backward()
        torch.testing.assert_close(out_b, out_a)
        torch.testing.assert_close(xb.grad, xa.grad)
        torch.testing.assert_close(summed.weight.grad, plain.weight.grad)
    for name, value in plain.state_dict().items():
        torch.testing.assert_close(summed.state_dict()[name], value)
    plain.eval(), summed.eval()
    torch.testing.assert_close(summed(x), plain(x))
