"""What a tracker is told about the run it publishes: its name and settings, the run it was forked from, the
sweep it belongs to, and the ids the trackers gave it (kept in RUN/trackers.json, so that a resume continues
the same tracker run and a fork can name its parent's)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.storage.layout import RunLayout, SweepLayout, is_sweep

IDS = "trackers.json"


@dataclass(frozen=True)
class RunAbout:
    run_dir: Path
    config: dict  # as config.json holds it
    parent_dir: Path | None  # the run this one was forked from
    parent_step: int | None
    sweep: str | None  # the sweep's folder name, when this run is one of its runs

    @property
    def name(self) -> str:
        return self.run_dir.name

    @classmethod
    def of(cls, run_dir: str | Path, config: dict) -> "RunAbout":
        run_dir = Path(run_dir).resolve()
        parent = config.get("parent") or {}
        sweep_root = run_dir.parent.parent
        return cls(run_dir, config, Path(parent["run_dir"]) if parent.get("run_dir") else None, parent.get("step"),
                   sweep_root.name if is_sweep(sweep_root) and SweepLayout(sweep_root).runs == run_dir.parent
                   else None)

    def ids(self, tracker: str, run_dir: Path | None = None) -> dict:
        """What `tracker` saved about this run (or another, such as the parent): its run id and the like."""
        try:
            return json.loads(((run_dir or self.run_dir) / IDS).read_text()).get(tracker, {})
        except (OSError, ValueError, AttributeError):
            return {}

    def save_ids(self, tracker: str, ids: dict) -> None:
        path = self.run_dir / IDS
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
        path.write_text(json.dumps({**saved, tracker: ids}, indent=1))

    def flat_settings(self) -> dict:
        """The settings as SECTION.NAME: value, as hyperparameters are shown."""
        return {f"{section}.{name}": value for section, values in self.config.items() if isinstance(values, dict)
                and section != "parent" for name, value in values.items()}

    @property
    def last_checkpoint(self) -> Path:
        return RunLayout(self.run_dir).last_checkpoint
