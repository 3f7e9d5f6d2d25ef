"""MLflow (log.mlflow = TRACKING_URI): one MLflow run per run directory, in the experiment log.mlflow_experiment.
The settings are its parameters; every statistic, setting and score a metric with its step (a live change shows
as a step in settings/*, and as a line of changes.txt); the fixed-z samples as images with their step; health
alerts as tags and alerts.txt; D's score histograms as histograms.jsonl and the last checkpoint as artifacts at
the end. A fork is a child run of its parent's (mlflow.parentRunId); a sweep's runs carry the tag sweep=NAME."""
from __future__ import annotations

import json
import time
from pathlib import Path

from core.trackers.about import RunAbout
from core.trackers.batch import Batch

BATCH_LIMIT = 1000  # metrics in one log_batch call (MLflow's limit)
PARAM_LIMIT = 100  # params in one log_batch call


def artifact_root(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside an sqlite database (MLflow's own default is ./mlruns
    under whatever folder the run started in); a server's own choice otherwise."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri.removeprefix("sqlite:///")).expanduser().resolve().parent / "mlartifacts").as_uri()


class MlflowTracker:
    name = "mlflow"

    def __init__(self, uri: str, experiment: str):
        from mlflow.tracking import MlflowClient

        self.uri, self.experiment = uri, experiment
        self.client = MlflowClient(tracking_uri=uri)
        self.run_id = ""
        self.changes: list[str] = []
        self.alerts: list[str] = []
        self.histograms: list[str] = []

    @classmethod
    def for_run(cls, about: RunAbout) -> "MlflowTracker":
        log = about.config.get("log", {})
        return cls(log["mlflow"], log.get("mlflow_experiment") or "hinge-gan")

    def start(self, about: RunAbout) -> None:
        """The run this directory had in MLflow (a resume goes on in it), or a new one."""
        from mlflow.entities import Param

        saved = about.ids(self.name)
        if saved.get("run_id") and saved.get("tracking_uri") == self.uri:
            self.run_id = saved["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            return
        found = self.client.get_experiment_by_name(self.experiment)
        experiment_id = found.experiment_id if found else self.client.create_experiment(
            self.experiment, artifact_location=artifact_root(self.uri))
        tags = {"run_dir": str(about.run_dir), "preset": str(about.config.get("preset", ""))}
        if about.parent_dir is not None:
            tags.update({"parent_run_dir": str(about.parent_dir), "forked_at_step": str(about.parent_step)})
            parent = about.ids(self.name, about.parent_dir)
            if parent.get("run_id") and parent.get("tracking_uri") == self.uri:
                tags["mlflow.parentRunId"] = parent["run_id"]
        if about.sweep:
            tags["sweep"] = about.sweep
        self.run_id = self.client.create_run(experiment_id, tags=tags, run_name=about.name).info.run_id
        about.save_ids(self.name, {"run_id": self.run_id, "experiment_id": experiment_id, "tracking_uri": self.uri})
        params = [Param(key, str(value)[:6000]) for key, value in about.flat_settings().items()]
        for i in range(0, len(params), PARAM_LIMIT):
            self.client.log_batch(self.run_id, params=params[i:i + PARAM_LIMIT])

    def write(self, batch: Batch) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(tag, value, int(wall * 1000) if wall else now, step)
                   for step, wall, values in batch.scalars for tag, value in values.items()]
        for i in range(0, len(metrics), BATCH_LIMIT):
            self.client.log_batch(self.run_id, metrics=metrics[i:i + BATCH_LIMIT])
        for step, tag, image in batch.images:
            self.client.log_image(self.run_id, image, key=tag, step=step)
        for step, detector, message in batch.alerts:
            self.client.set_tag(self.run_id, f"alert.{detector}", f"step {step}: {message}"[:5000])
            self.alerts.append(message)
        changes = [text for step, tag, text in batch.texts if tag == "changes"]
        if changes:
            self.changes += changes
            self.client.log_text(self.run_id, "\n".join(self.changes) + "\n", "changes.txt")
        if batch.alerts:
            self.client.log_text(self.run_id, "\n".join(self.alerts) + "\n", "alerts.txt")
        self.histograms += [json.dumps({"step": step, "side": tag.rsplit("/", 1)[-1], "edges": edges.tolist(),
                                        "counts": counts.tolist()}) for step, tag, edges, counts in batch.histograms]

    def finish(self, checkpoint: Path | None) -> None:
        if self.histograms:
            self.client.log_text(self.run_id, "\n".join(self.histograms) + "\n", "histograms.jsonl")
        if checkpoint is not None:
            self.client.log_artifact(self.run_id, str(checkpoint), "checkpoints")
        self.client.set_terminated(self.run_id, "FINISHED")
