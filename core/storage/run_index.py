"""Runs as a collection: the run directories under a root, what each is, and its recorded series, for
comparing runs side by side. Reads files only; imports no torch."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.storage.layout import RunLayout, SweepLayout, is_run_dir, is_sweep
from core.storage.live import read_heartbeat, seen_state
from core.storage.rundir import step_files
from core.base.files import read_jsonl
from core.storage.metrics_csv import read_metrics

SERIES = ("d_loss", "g_loss", "real_violation_rate", "fake_violation_rate")


@dataclass
class RunRecord:
    path: Path
    preset: str
    last_step: int
    state: str  # as a viewer sees it from the heartbeat (core.storage.live.seen_state)
    parent: dict | None = None  # a fork's origin: {"run_dir", "step", "checkpoint"}
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    series: dict = field(default_factory=dict)  # name -> values, one per step
    quality: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def fork_step(self) -> int | None:
        return self.parent.get("step") if self.parent else None


def find_runs(root: str | Path) -> list[Path]:
    """Run directories directly under root (and root itself if it is one), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [root] if is_run_dir(root) else []
    found += [p for p in root.iterdir() if p.is_dir() and is_run_dir(p)]
    return sorted(found, key=last_written, reverse=True)


def last_written(path: Path) -> float:
    metrics = RunLayout(path).metrics
    return metrics.stat().st_mtime if metrics.exists() else 0.0


def find_sweeps(root: str | Path) -> dict[Path, list[Path]]:
    """{sweep folder: its run directories} for the sweeps directly under root (and root itself, if one)."""
    root = Path(root)
    if not root.is_dir():
        return {}
    folders = [root] if is_sweep(root) else []
    folders += [p for p in sorted(root.iterdir()) if p.is_dir() and is_sweep(p)]
    return {folder.resolve(): sorted(p.resolve() for p in SweepLayout(folder).runs.glob("*") if is_run_dir(p))
            for folder in folders}


def read_run(path: str | Path) -> RunRecord:
    path = Path(path)
    try:
        config = json.loads(RunLayout(path).config.read_text())
    except (OSError, ValueError):
        config = {}
    steps, series = read_metrics(RunLayout(path).metrics) or (np.zeros(0, np.int64), {n: np.zeros(0) for n in SERIES})
    beat = read_heartbeat(path)
    return RunRecord(path=path, preset=str(config.get("preset", "?")), last_step=int(steps[-1]) if len(steps) else 0,
                     state=seen_state(beat), parent=config.get("parent"), steps=steps,
                     series={name: series[name] for name in SERIES},
                     quality=read_jsonl(RunLayout(path).quality))


def nearest_frame(run_dir: str | Path, step: int) -> Path | None:
    """The timelapse frame closest to `step`."""
    frames = step_files(RunLayout(run_dir).timelapse, ".png")
    return frames[min(frames, key=lambda at: abs(at - step))] if frames else None


def overlay_csv(runs: list[RunRecord], path: str | Path) -> Path:
    """The picked runs' series in one long table: run, step, then each series."""
    path = Path(path)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "step", *SERIES])
        for run in runs:
            for i, step in enumerate(run.steps):
                writer.writerow([run.name, int(step), *(f"{run.series[n][i]:.6g}" for n in SERIES)])
    return path
