"""Runs streamed live to their trackers, read back with each tracker's own reader."""
import json

import pytest

from core.protocol import commands as C
from core.trackers.about import IDS
from tests.core.helpers import events, metrics_rows, run_session


def with_log(cfg, **log):
    for name, value in {"every_s": 0.1, **log}.items():
        setattr(cfg.log, name, value)
    return cfg


def test_tensorboard_receives_the_run_live(tmp_path, tiny_digits_config):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    run_session(with_log(tiny_digits_config(samples_every_s=0.05), tensorboard=True), run, 40,
                commands=[C.SetMargins(0.5, 0.5)])
    reader = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "histograms": 0,
                                                                         "tensors": 0})
    reader.Reload()
    tags = reader.Tags()
    rows = metrics_rows(run)
    d_loss = reader.Scalars("train/d_loss")
    assert [e.step for e in d_loss] == [int(r["step"]) for r in rows]  # every step, once
    assert d_loss[-1].value == pytest.approx(float(rows[-1]["d_loss"]), rel=1e-5)
    assert [e.value for e in reader.Scalars("settings/margin_real")] == [1.0, 0.5]  # the start, then the change
    assert reader.Images("samples") and "D_scores/real" in tags["histograms"]
    assert "changes/text_summary" in tags["tensors"] and "config/text_summary" in tags["tensors"]


def test_mlflow_receives_the_run_live_and_a_fork_is_its_child(tmp_path, tiny_digits_config):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run = tmp_path / "run"
    session = run_session(with_log(tiny_digits_config(samples_every_s=0.05), mlflow=uri), run, 40,
                          commands=[C.SetMargins(0.5, 0.5)])
    client, ids = MlflowClient(tracking_uri=uri), json.loads((run / IDS).read_text())["mlflow"]
    logged = client.get_run(ids["run_id"])
    assert logged.info.status == "FINISHED" and logged.data.params["loss.margin_real"] == "1.0"
    history = client.get_metric_history(ids["run_id"], "train/d_loss")
    assert sorted(m.step for m in history) == [int(r["step"]) for r in metrics_rows(run)]
    assert [m.value for m in sorted(client.get_metric_history(ids["run_id"], "settings/margin_real"),
                                    key=lambda m: m.step)] == [1.0, 0.5]
    artifacts = {a.path for a in client.list_artifacts(ids["run_id"])}
    assert {"changes.txt", "histograms.jsonl", "checkpoints"} <= artifacts
    assert [a.path for a in client.list_artifacts(ids["run_id"], "checkpoints")] == ["checkpoints/last.pt"]
    changes = client.download_artifacts(ids["run_id"], "changes.txt", str(tmp_path))
    assert "margins set to +0.5 / -0.5" in open(changes).read()

    fork = tmp_path / "fork"
    state = session.trainer.state_dict()
    run_session(with_log(tiny_digits_config(), mlflow=uri), fork, 5, state={**state, "events": []},
                parent={"run_dir": str(run.resolve()), "step": 40})
    child = client.get_run(json.loads((fork / IDS).read_text())["mlflow"]["run_id"])
    assert child.data.tags["mlflow.parentRunId"] == ids["run_id"] and child.data.tags["forked_at_step"] == "40"


def test_a_failing_tracker_is_said_once_and_training_goes_on(tmp_path, tiny_digits_config):
    pytest.importorskip("tensorboard")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    run = tmp_path / "run"
    run_session(with_log(tiny_digits_config(), tensorboard=True, tensorboard_dir=str(blocked)), run, 30)
    assert int(metrics_rows(run)[-1]["step"]) == 30
    failed = [e for e in events(run) if e["kind"] == "tracker_failed"]
    assert len(failed) == 1 and failed[0]["tracker"] == "tensorboard" and "training goes on" in failed[0]["reason"]


def test_wandb_offline_receives_the_run_live(tmp_path, tiny_digits_config, monkeypatch):
    pytest.importorskip("wandb")
    from tests.core.trackers.wandb_records import artifacts, config, history

    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "run"
    run_session(with_log(tiny_digits_config(samples_every_s=0.05), wandb="hinge-tests", wandb_mode="offline"), run,
                40, commands=[C.SetMargins(0.5, 0.5)])
    [log] = list((run / "wandb").glob("offline-run-*/run-*.wandb"))
    rows = history(log)
    d_loss = [(row["step"], row["train/d_loss"]) for row in rows if "train/d_loss" in row]
    assert [step for step, _ in d_loss] == [int(r["step"]) for r in metrics_rows(run)]
    assert d_loss[-1][1] == pytest.approx(float(metrics_rows(run)[-1]["d_loss"]), rel=1e-5)
    margins = [row["settings/margin_real"] for row in rows if "settings/margin_real" in row]
    assert margins == [1.0, 0.5]
    assert any(row.get("samples", {}).get("_type") == "image-file" for row in rows)
    assert any(row.get("D_scores/real", {}).get("_type") == "histogram" for row in rows)
    assert any("changes" in row for row in rows)
    assert config(log)["loss"]["margin_real"] == 1.0
    assert ("run-checkpoint", "model", ["last.pt"]) in artifacts(log)
