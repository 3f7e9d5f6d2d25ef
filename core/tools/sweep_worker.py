"""A sweep's worker: claims the next run of a sweep folder nobody holds (core.storage.claims), trains it as a
`hinge-train train` process of its own (resumed from its last.pt when an earlier worker left it half done),
stops it early when its health says it failed, scores it, and writes RUN/sweep-result.json; then the next."""
from __future__ import annotations

import ctypes
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.base.files import read_jsonl, write_atomically
from core.storage.checkpoint_probe import describe_checkpoint
from core.storage.layout import RunLayout
from core.storage.claims import claim, is_stale, release, take_over
from core.storage.inbox import append_command
from core.storage.live import read_heartbeat
from core.storage.sweeps import FAILURES, Run, Sweep

POLL_S = 1.0


def _die_with_parent() -> None:
    """In the training process: SIGTERM (a clean stop, last.pt saved) when the worker that started it dies."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def next_run(sweep: Sweep, out: Path) -> Run | None:
    """Claim a run that has no result: a free one, or one whose holder is gone."""
    for run in sweep.runs(out):
        if run.result is not None:
            continue
        run.path.mkdir(parents=True, exist_ok=True)
        lock = RunLayout(run.path).claim
        if claim(lock):
            return run
        beat = read_heartbeat(run.path)
        if is_stale(lock, beat["wall_time"] if beat else None) and take_over(lock):
            return run
    return None


def work(sweep: Sweep, out: Path, threads: int) -> None:
    """Train runs until every run of the sweep has a result. A run held by someone else is waited for: its
    holder may finish it, or be gone (a killed sweep's heartbeat stays fresh for FRESH_S), and then it is
    taken over, so the same command again never ends with a half-done run left behind."""
    while any(run.result is None for run in sweep.runs(out)):
        run = next_run(sweep, out)
        if run is None:
            time.sleep(POLL_S)
            continue
        try:
            result = train(sweep, run, threads)
            if result is not None:
                write_atomically(RunLayout(run.path).sweep_result, json.dumps(result) + "\n", durable=True)
        finally:
            release(RunLayout(run.path).claim)


def command(sweep: Sweep, run: Run, threads: int) -> tuple[list[str], int]:
    """The `hinge-train train` that trains (or resumes) this run, and the step it ends at."""
    last = RunLayout(run.path).last_checkpoint
    start = describe_checkpoint(sweep.start_from)["step"] if sweep.start_from else 0
    goal = start + sweep.steps
    overrides = [*sweep.overrides_of(run), f"train.threads={threads}"]
    if last.is_file():  # half done by a worker that was stopped or killed
        source, steps = ["--resume", str(last)], goal - describe_checkpoint(str(last))["step"]
    elif sweep.start_from:
        source, steps = ["--resume", sweep.start_from], sweep.steps
    else:
        source, steps = ["--preset", sweep.preset], sweep.steps
    line = [sys.executable, "-m", "core.cli", "train", *source, "--steps", str(max(0, steps)), "--run-dir",
            str(run.path), "--device", sweep.device]
    for item in overrides:
        line += ["--set", item]
    return line, goal


def train(sweep: Sweep, run: Run, threads: int) -> dict | None:
    """The run's result, or None when it was interrupted (Ctrl+C, a stop from outside): to be resumed."""
    line, goal = command(sweep, run, threads)
    with open(RunLayout(run.path).train_log, "a") as log:
        process = subprocess.Popen(line, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    deadline = time.monotonic() + 60 * sweep.minutes if sweep.minutes else None
    failure, out_of_time = None, False
    while process.poll() is None:
        time.sleep(POLL_S)
        failure = failure or failed(run.path)
        out_of_time = out_of_time or (deadline is not None and time.monotonic() > deadline)
        if failure or out_of_time:
            append_command(run.path, {"kind": "stop"})
            process.wait()
    code = process.returncode
    failure = failure or failed(run.path)
    if failure:
        return {"state": "failed", "reason": failure, "score": None, "metric": sweep.metric}
    if code == 0 or (code == 3 and out_of_time):
        return {"state": "done", "reason": "", "score": score(sweep, run, goal), "metric": sweep.metric}
    if code in (130, -signal.SIGINT, -signal.SIGTERM, 3):  # interrupted: its last.pt is there to resume from
        return None
    return {"state": "failed", "reason": f"hinge-train train exited with {code} (see train.log)", "score": None,
            "metric": sweep.metric}


def failed(run_dir: Path) -> str | None:
    """Why the run failed, from its record: a diverged loss, or a health alert that means a failed run."""
    for event in read_jsonl(RunLayout(run_dir).events):
        if event.get("kind") == "diverged":
            return f"diverged at step {event.get('at_step')}"
        if event.get("kind") == "alert" and event.get("name") in FAILURES:
            return f"{event['name']} at step {event['step']}: {event.get('message', '')}"
    return None


def score(sweep: Sweep, run: Run, goal: int) -> float | None:
    """The judge's score of the run's last generator: its final evaluation, or one taken now."""
    final = [q for q in read_jsonl(RunLayout(run.path).quality) if q.get(sweep.metric) is not None]
    if final and final[-1]["step"] >= goal:
        return float(final[-1][sweep.metric])
    done = subprocess.run([sys.executable, "-m", "core.cli", "eval", "--checkpoint",
                           str(RunLayout(run.path).last_checkpoint), "--device", sweep.device], capture_output=True,
                          text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
    return result.get(sweep.metric)

