"""Where everything of a run and of a sweep lies: every file and folder name in one place, and the one answer to
"is this a run directory". Readers and writers alike ask here (docs/run-directory.md describes each file)."""
from __future__ import annotations

import time
from pathlib import Path

RUNS_ROOT = Path("runs")  # where new runs go, under the current folder, unless a run directory is given
COMMANDS = "commands.jsonl"  # named in the events of the commands it delivered


class RunLayout:
    """A run directory's paths. A run directory is a folder with config.json: a session writes it before its
    first step, so a run that has trained anything has one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    config = property(lambda self: self.path / "config.json")
    metrics = property(lambda self: self.path / "metrics.csv")
    events = property(lambda self: self.path / "events.jsonl")
    quality = property(lambda self: self.path / "quality.jsonl")
    histograms = property(lambda self: self.path / "histograms.jsonl")
    commands = property(lambda self: self.path / COMMANDS)
    real = property(lambda self: self.path / "real.png")  # real images as D receives them, written at the start
    train_log = property(lambda self: self.path / "train.log")  # a headless fork's or sweep run's terminal
    sweep_result = property(lambda self: self.path / "sweep-result.json")  # a sweep's run, once done or failed
    claim = property(lambda self: self.path / "claim")  # a sweep's run: the worker that trains it
    tensorboard = property(lambda self: self.path / "tensorboard")
    live = property(lambda self: self.path / "live")
    heartbeat = property(lambda self: self.path / "live" / "heartbeat.json")
    live_histograms = property(lambda self: self.path / "live" / "histograms.json")
    live_samples = property(lambda self: self.path / "live" / "samples.npz")
    live_samples_png = property(lambda self: self.path / "live" / "samples.png")
    checkpoints = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")
    samples = property(lambda self: self.path / "samples")
    timelapse = property(lambda self: self.path / "samples" / "timelapse")
    abandoned = property(lambda self: self.path / "abandoned")

    def step_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step-{step}.pt"

    def frame(self, step: int) -> Path:
        """A timelapse frame: the fixed-z view at `step` (zero-padded, so the names sort by step)."""
        return self.timelapse / f"step-{step:09d}.png"

    def abandoned_branch(self, step: int) -> Path:
        """Where what came after `step` goes when training goes back to it."""
        return self.abandoned / f"from-step-{step}-{time.strftime('%Y%m%d-%H%M%S')}"


def is_run_dir(path: str | Path) -> bool:
    return RunLayout(path).config.is_file()


def run_dir_of(checkpoint: str | Path) -> Path | None:
    """The run directory a checkpoint was saved in (RUN/checkpoints/step-N.pt), if it is one."""
    folder = Path(checkpoint).resolve().parent.parent
    return folder if is_run_dir(folder) else None


def default_run_dir(preset: str) -> Path:
    return RUNS_ROOT / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"


class SweepLayout:
    """A sweep folder's paths: what the sweep is, its runs, their summary, and the log of a sweep a window started."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    description = property(lambda self: self.path / "sweep.json")
    runs = property(lambda self: self.path / "runs")
    summary = property(lambda self: self.path / "summary.csv")
    log = property(lambda self: self.path / "sweep.log")

    def run(self, name: str) -> Path:
        return self.runs / name


def is_sweep(path: str | Path) -> bool:
    return SweepLayout(path).description.is_file()
