"""A run directory: config.json, metrics.csv, events.jsonl, quality.jsonl, histograms.jsonl, commands.jsonl
(the inbox, core.storage.inbox), live/ (core.storage.live), checkpoints/ and samples/. Every format:
docs/run-directory.md."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from core.base.errors import UserError
from core.base.files import atomic_file, json_objects, read_json, read_jsonl, write_atomically
from core.config import Config
from core.pictures import save_png
from core.protocol.telemetry import Scores, Settings
from core.storage.metrics_csv import HEADER, METRIC_COLUMNS, format_rows, with_current_header
from core.storage.layout import RunLayout, run_dir_of
from core.storage.retention import THIN_EVERY, checkpoints_to_keep, frames_to_keep


class Appender:
    """Appends to a file without buffering; what a failed write (a full disk) left out is kept and
    written first next time, so nothing is lost once space is back."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "ab", buffering=0)
        self.pending = b""

    def write(self, text: str) -> None:
        self.pending += text.encode()
        try:
            while self.pending:
                self.pending = self.pending[self.file.write(self.pending):]
        except OSError as exc:
            raise UserError(f"cannot write {self.path.name}: {exc.strerror or exc} "
                            f"({len(self.pending)} bytes kept to retry)") from None

    def close(self) -> None:
        self.file.close()


def _split_lines(path: Path, keep, abandoned: Path) -> int:
    """Keep the lines of `path` that `keep(line)` accepts (in place, atomically); append the others to
    `abandoned`. Returns how many moved."""
    if not path.exists():
        return 0
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if keep(line)]
    moved = [line for line in lines if not keep(line)]
    if moved:
        abandoned.parent.mkdir(parents=True, exist_ok=True)
        with open(abandoned, "a") as f:
            f.writelines(moved)
        write_atomically(path, "".join(kept), durable=True)
    return len(moved)


def step_files(folder: Path, suffix: str) -> dict[int, Path]:
    """{step: path} of the step-N files with this suffix in a folder (checkpoints, timelapse frames), in step order."""
    found = {}
    for path in Path(folder).glob(f"step-*{suffix}"):
        number = path.stem[len("step-"):]
        if number.isdigit():
            found[int(number)] = path
    return dict(sorted(found.items()))


def step_checkpoints(folder: Path) -> dict[int, Path]:
    """{step: path} of the step-N.pt checkpoints in a run's checkpoints/ folder, in step order."""
    return step_files(folder, ".pt")


COUNTS = ("real", "fake", "real_beyond", "fake_beyond")  # the per-bin counts of a histograms.jsonl line


def merge_histograms(lines: list[dict], keep: set[int]) -> list[dict]:
    """The lines whose step is kept, each carrying the counts of the dropped lines before it (a line counts
    the scores since the previous one), so the totals stay what they were."""
    out, carry = [], None
    for line in lines:
        if carry is not None and len(carry["real"]) == len(line["real"]):
            line = {**line, **{key: [a + b for a, b in zip(carry[key], line[key])] for key in COUNTS if key in line}}
        carry = None
        if line["step"] in keep:
            out.append(line)
        else:
            carry = line
    return out


def _step_of(line: str) -> int:
    return int(json.loads(line)["step"]) if line.strip() else -1


def fork_parent(checkpoint: str | None, step: int, run_dir: str | Path) -> dict | None:
    """What a run started from a checkpoint of another run directory records as its parent; None when it
    continues the checkpoint's own run."""
    if not checkpoint:
        return None
    origin = run_dir_of(checkpoint)
    if origin is not None and origin == Path(run_dir).resolve():
        return None
    return {"run_dir": str(origin) if origin else None, "step": step, "checkpoint": str(Path(checkpoint).resolve())}


class RunDir:
    def __init__(self, path: str | Path, resume_from: tuple[int, list[dict]] | None = None):
        """resume_from: (step, events) of the checkpoint a session resumes from in this directory."""
        self.path = Path(path)
        self.layout = RunLayout(self.path)
        try:
            for sub in ("checkpoints", "samples/timelapse"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
            if resume_from is not None:
                self.abandon_after(*resume_from)
                self._upgrade_metrics()
            new_metrics = not self.metrics_path.exists() or self.metrics_path.stat().st_size == 0
            self._metrics = Appender(self.metrics_path)
            self._events = Appender(self.events_path)
            self._quality = self._histograms = None  # opened at their first line
            self._frames_written = 0
        except OSError as exc:
            raise UserError(f"cannot write the run directory {self.path}: {exc.strerror or exc}") from None
        if new_metrics:
            self._metrics.write(HEADER)

    def _upgrade_metrics(self) -> None:
        """A run resumed by a newer version: its metrics.csv gets the columns added since (their old values)."""
        try:
            text = self.metrics_path.read_text()
        except FileNotFoundError:
            return
        upgraded = with_current_header(text)
        if upgraded is not None:
            write_atomically(self.metrics_path, upgraded)

    metrics_path = property(lambda self: self.layout.metrics)
    events_path = property(lambda self: self.layout.events)
    quality_path = property(lambda self: self.layout.quality)
    histograms_path = property(lambda self: self.layout.histograms)
    checkpoints = property(lambda self: self.layout.checkpoints)
    last_checkpoint = property(lambda self: self.layout.last_checkpoint)
    samples = property(lambda self: self.layout.samples)
    timelapse = property(lambda self: self.layout.timelapse)

    def abandon_after(self, step: int, events: list[dict]) -> Path:
        """Training resumes at `step`: what was written after it (a branch that crashed or was abandoned)
        moves to abandoned/from-step-N-TIME/, so that metrics.csv keeps one row per step, quality.jsonl one
        score per evaluation, events.jsonl exactly the checkpoint's events, and the timelapse frames and
        step-N.pt checkpoints only the steps trained on the way kept. Returns the folder."""
        where = self.layout.abandoned_branch(step)
        header = METRIC_COLUMNS[0] + ","
        _split_lines(self.metrics_path, lambda line: line.startswith(header) or not line.strip()
                     or int(line.split(",", 1)[0]) <= step, where / "metrics.csv")
        for path in (self.quality_path, self.histograms_path):
            _split_lines(path, lambda line: _step_of(line) <= step, where / path.name)
        kept = {json.dumps(e, sort_keys=True) for e in events}
        _split_lines(self.events_path, lambda line: not line.strip()
                     or json.dumps(json.loads(line), sort_keys=True) in kept, where / "events.jsonl")
        for folder, files in ((self.timelapse, step_files(self.timelapse, ".png")),
                              (self.checkpoints, self.step_checkpoints())):
            for later in (path for at, path in files.items() if at > step):
                (where / folder.name).mkdir(parents=True, exist_ok=True)
                later.rename(where / folder.name / later.name)
        return where

    def rewind(self, step: int, events: list[dict]) -> Path:
        """A live session goes back to `step`: as abandon_after, with the open files reopened on the cut
        ones. Returns the folder the abandoned branch moved to."""
        self.close()
        where = self.abandon_after(step, events)
        self._metrics, self._events = self._open(self.metrics_path), self._open(self.events_path)
        self._quality = self._histograms = None
        return where

    def step_checkpoints(self) -> dict[int, Path]:
        return step_checkpoints(self.checkpoints)

    def keep_step_copy(self, step: int, keep: int = 0, every: int = 0, healthy: int | None = None) -> Path:
        """checkpoints/step-N.pt: a copy of last.pt, whole or not at all; then only the newest `keep` step-N.pt,
        every `every`-th and the newest at or before step `healthy` stay (core.storage.retention)."""
        target = self.layout.step_checkpoint(step)
        try:
            with atomic_file(target, durable=True) as out, open(self.last_checkpoint, "rb") as source:
                shutil.copyfileobj(source, out)
        except OSError as exc:
            raise UserError(f"could not save a checkpoint: {exc.strerror or exc}") from None
        found = self.step_checkpoints()
        for old in set(found) - checkpoints_to_keep(list(found), keep, every, healthy):
            found[old].unlink(missing_ok=True)
        return target

    def frames(self) -> dict[int, Path]:
        """{step: timelapse frame}, in step order."""
        return step_files(self.timelapse, ".png")

    def thin_timelapse(self) -> None:
        """Every recent frame and histogram line kept, older ones spaced out with age (core.storage.retention)."""
        frames = step_files(self.timelapse, ".png")
        for step in set(frames) - frames_to_keep(list(frames)):
            frames[step].unlink(missing_ok=True)
        if not self.histograms_path.exists():
            return
        lines = [line for line in read_jsonl(self.histograms_path) if "step" in line and "real" in line]
        kept = merge_histograms(lines, frames_to_keep([line["step"] for line in lines]))
        if len(kept) < len(lines):
            if self._histograms is not None:
                self._histograms.close()
                self._histograms = None  # reopened at the next line
            write_atomically(self.histograms_path, "".join(json.dumps(line) + "\n" for line in kept), durable=True)

    def write_config(self, cfg: Config, parent: dict | None = None) -> None:
        """config.json: the settings, and for a fork its parent (kept when the fork itself is resumed)."""
        path = self.layout.config
        if parent is None:
            parent = (read_json(path) or {}).get("parent")
        record = {**cfg.to_dict(), **({"parent": parent} if parent else {})}
        try:
            write_atomically(path, json.dumps(record, indent=2) + "\n", durable=True)
        except OSError as exc:
            raise UserError(f"cannot write the run directory {self.path}: {exc.strerror or exc}") from None

    def write_real(self, grid: np.ndarray) -> None:
        try:
            save_png(grid, self.layout.real)
        except OSError as exc:
            raise UserError(f"cannot write the run directory {self.path}: {exc.strerror or exc}") from None

    def append_metrics(self, steps: np.ndarray, times: np.ndarray, scalars: dict, settings: Settings) -> None:
        self._metrics.write(format_rows(steps, times, scalars, settings))

    def append_frame(self, picture: np.ndarray, step: int) -> None:
        try:
            save_png(picture, self.layout.frame(step))
        except OSError as exc:
            raise UserError(f"cannot write a timelapse frame: {exc.strerror or exc}") from None
        self._frames_written += 1
        if self._frames_written % THIN_EVERY == 0:
            self.thin_timelapse()

    def append_event(self, event: dict) -> None:
        self._events.write(json.dumps(event) + "\n")

    def append_quality(self, result: dict) -> None:
        self._quality = self._quality or self._open(self.quality_path)
        self._quality.write(json.dumps(result) + "\n")

    def append_histograms(self, scores: Scores) -> None:
        """D's score counts since the previous line (one line per timelapse frame)."""
        self._histograms = self._histograms or self._open(self.histograms_path)
        self._histograms.write(json.dumps(scores.record()) + "\n")

    @staticmethod
    def _open(path: Path) -> Appender:
        try:
            return Appender(path)
        except OSError as exc:
            raise UserError(f"cannot write {path.name}: {exc.strerror or exc}") from None

    def close(self) -> None:
        for appender in (self._metrics, self._events, self._quality, self._histograms):
            if appender is not None:
                appender.close()


def read_events(path: str | Path) -> list[dict]:
    """An events.jsonl to replay: every line an event with an integer step and a kind, or a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"events file not found: {path}")
    events = json_objects(path.read_text().splitlines(), where=str(path))
    for number, event in enumerate(events, 1):
        if not isinstance(event.get("step"), int) or "kind" not in event:
            raise UserError(f"{path}: event {number} is not an event (needs integer 'step' and 'kind')")
    return events
