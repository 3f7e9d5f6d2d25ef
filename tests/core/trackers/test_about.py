"""What a tracker is told about a run: its sweep, its parent, and the ids trackers gave it."""
from core.storage.layout import SweepLayout
from core.trackers.about import RunAbout


def test_a_sweep_s_run_knows_its_sweep_and_a_fork_its_parent_s_ids(tmp_path):
    sweep = tmp_path / "margins-sweep"
    SweepLayout(sweep).runs.mkdir(parents=True)
    SweepLayout(sweep).description.write_text("{}")
    arm = RunAbout.of(SweepLayout(sweep).run("margin_real=0.5"), {"loss": {"margin_real": 0.5}})
    alone = RunAbout.of(tmp_path / "runs" / "digits-1", {"parent": {"run_dir": str(tmp_path / "p"), "step": 300}})
    assert arm.sweep == "margins-sweep" and alone.sweep is None
    assert (alone.parent_dir, alone.parent_step) == (tmp_path / "p", 300)
    assert arm.flat_settings() == {"loss.margin_real": 0.5}
    parent = RunAbout.of(tmp_path / "p", {})
    parent.run_dir.mkdir()
    parent.save_ids("mlflow", {"run_id": "abc"})
    parent.save_ids("wandb", {"id": "w1"})
    assert alone.ids("mlflow", alone.parent_dir) == {"run_id": "abc"} and alone.ids("wandb", alone.parent_dir) == {"id": "w1"}
    assert alone.ids("mlflow") == {}  # nothing saved for the fork itself yet
