import os
import pickle

import pytest

from core.training.checkpoint import load_checkpoint, save_checkpoint
from core.config import from_dict
from core.training.trainer import Trainer
from core.base.errors import CheckpointError
from tests.core.helpers import run_session


@pytest.fixture
def checkpoint(tmp_path, tiny_digits_config):
    run_session(tiny_digits_config(), tmp_path / "run", 3)
    return tmp_path / "run" / "checkpoints" / "last.pt"


def test_checkpoint_carries_everything_to_continue(checkpoint):
    state = load_checkpoint(checkpoint)
    assert state["step"] == 3 and (checkpoint.parent / "step-3.pt").exists()
    assert {"G", "D", "opt_g", "opt_d", "sn_layers", "rng", "config", "events", "fixed_z"} <= set(state)
    assert len(state["sn_layers"]) == 4


class RunsCode:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    RunsCode.marker = marker
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"format": 1, "payload": RunsCode()}, f)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(evil)
    assert not marker.exists()


def test_truncated_empty_directory_and_foreign_files(tmp_path, checkpoint):
    data = checkpoint.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(cut)
    empty = tmp_path / "empty.pt"
    empty.touch()
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(empty)
    with pytest.raises(CheckpointError, match="directory"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    other = tmp_path / "other.pt"
    save_checkpoint({"just": 1}, other)
    with pytest.raises(CheckpointError, match="not a Hinge-GAN"):
        load_checkpoint(other)


def test_a_text_file_named_pt_is_one_clear_line(tmp_path):
    text = tmp_path / "x.pt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(text)


def test_every_checkpoint_file_has_the_same_ordinary_permissions(checkpoint):
    mask = os.umask(0)
    os.umask(mask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in checkpoint.parent.glob("*.pt")}
    assert set(modes) == {"last.pt", "step-3.pt"} and set(modes.values()) == {0o666 & ~mask}


def test_other_architecture_names_the_mismatch(checkpoint):
    state = load_checkpoint(checkpoint)
    cfg = from_dict(state["config"])
    cfg.data.channels = 3
    with pytest.raises(CheckpointError, match=r"generator does not match this model at net.9.weight: checkpoint \(4, 1, 4, 4\), model \(4, 3, 4, 4\)"):
        Trainer(cfg, "cpu").load_state_dict(state)


def test_save_is_atomic_when_writing_fails(tmp_path, checkpoint):
    good = load_checkpoint(checkpoint)

    class Unsaveable:
        def __reduce__(self):
            raise OSError("disk full")

    with pytest.raises(OSError):
        save_checkpoint({**good, "bad": Unsaveable()}, checkpoint)
    assert load_checkpoint(checkpoint)["step"] == 3
    assert [p.name for p in checkpoint.parent.iterdir() if p.name.startswith(".")] == []


def test_hinge_train_checkpoint_says_whether_a_file_loads_and_describes_it(tmp_path, capsys, tiny_ring_config):
    import json

    from core.cli import main as hinge_train
    from tests.core.helpers import run_session

    run_session(tiny_ring_config(), tmp_path / "run", 3)
    (tmp_path / "bad.pt").write_text("not a checkpoint")

    def entry(*args):
        code = hinge_train(["checkpoint", *map(str, args)])
        return code, capsys.readouterr()

    code, said = entry(tmp_path / "run" / "checkpoints" / "last.pt", "--describe")
    described = json.loads(said.out)
    assert code == 0 and described["step"] == 3 and described["config"]["preset"] == "tiny-ring"
    code, said = entry(tmp_path / "bad.pt")
    assert code == 2 and "not a readable checkpoint" in said.err and said.err.count("\n") == 1
