"""Weights & Biases (log.wandb = PROJECT, log.wandb_mode online or offline): one W&B run per run directory,
its files under RUN/wandb. The settings are its config; every statistic, setting and score is logged with the
run's own step as a column ("step", the x axis of every chart), so a rewind's steps that go back are kept as
they happened; the fixed-z samples as images, D's scores as histograms, health alerts as tags and in the
summary, every live change in a "changes" table and the last checkpoint as a model artifact at the end. A
fork's run names its parent (config parent_run_id, and fork_from online); a sweep's runs share a group."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from core.trackers.about import RunAbout
from core.trackers.batch import Batch


class WandbTracker:
    name = "wandb"

    def __init__(self, project: str, mode: str):
        import wandb

        self.wandb, self.project, self.mode = wandb, project, mode
        self.run = None
        self.changes: list[list] = []

    @classmethod
    def for_run(cls, about: RunAbout) -> "WandbTracker":
        log = about.config.get("log", {})
        return cls(log["wandb"], log.get("wandb_mode", "online"))

    def start(self, about: RunAbout) -> None:
        """The W&B run this directory had (a resume goes on in it), or a new one."""
        wandb = self.wandb
        config = {k: v for k, v in about.config.items() if k != "parent"}
        kwargs = {}
        saved = about.ids(self.name)
        if saved.get("id") and saved.get("project") == self.project:
            kwargs.update(id=saved["id"], resume="allow")
        if about.parent_dir is not None:
            parent = about.ids(self.name, about.parent_dir)
            config.update(parent_run_dir=str(about.parent_dir), forked_at_step=about.parent_step,
                          parent_run_id=parent.get("id"))
            if parent.get("id") and self.mode == "online" and "id" not in kwargs:
                kwargs["fork_from"] = f"{parent['id']}?_step={about.parent_step}"
        self.run = wandb.init(project=self.project, mode=self.mode, dir=str(about.run_dir), name=about.name,
                              config=config, group=about.sweep, job_type="fork" if about.parent_dir else "train",
                              settings=wandb.Settings(silent=True, console="off", x_disable_stats=True), **kwargs)
        self.run.define_metric("step")
        self.run.define_metric("*", step_metric="step")
        about.save_ids(self.name, {"id": self.run.id, "project": self.project, "mode": self.mode})

    def write(self, batch: Batch) -> None:
        wandb, rows = self.wandb, defaultdict(dict)
        for step, _, values in batch.scalars:
            rows[step].update(values)
        for step, tag, image in batch.images:
            rows[step][tag] = wandb.Image(image)
        for step, tag, edges, counts in batch.histograms:
            rows[step][tag] = wandb.Histogram(np_histogram=(counts.tolist(), edges.tolist()))
        for step in sorted(rows):
            self.run.log({"step": step, **rows[step]})
        for step, detector, message in batch.alerts:
            self.run.tags = (*self.run.tags, f"alert:{detector}")
            self.run.summary[f"alert/{detector}"] = f"step {step}: {message}"
        self.changes += [[step, text] for step, tag, text in batch.texts if tag == "changes"]

    def finish(self, checkpoint: Path | None) -> None:
        wandb = self.wandb
        if self.changes:
            self.run.log({"changes": wandb.Table(columns=["step", "change"], data=self.changes)})
        if checkpoint is not None:
            artifact = wandb.Artifact(re.sub(r"[^\w.-]", "-", f"{self.run.name}-checkpoint"), type="model")
            artifact.add_file(str(checkpoint))
            self.run.log_artifact(artifact)
        self.run.finish()
        wandb.teardown()  # its service process ends with the run, not when this process exits
