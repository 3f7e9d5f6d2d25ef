"""The loss switched live: applied at a step boundary, echoed, refused when it is no loss, written on every
metrics.csv row, and reproduced bit for bit by a replay and by a resume across the switch."""
import json

from core.base.files import read_jsonl
from core.config import from_dict
from core.protocol import commands as C
from core.storage.inbox import parse_command
from core.training.checkpoint import load_checkpoint
from tests.core.helpers import assert_same_weights, metrics_rows, run_session, weights

SWITCHES = [{"step": 10, "kind": "set_loss", "loss": "bce"}, {"step": 20, "kind": "set_loss", "loss": "wasserstein"}]


def test_a_switched_loss_is_recorded_per_row_and_a_nonsense_one_is_refused(tmp_path, tiny_ring_config):
    session = run_session(tiny_ring_config(), tmp_path, 30, commands=[C.SetLoss("l2")], replay=SWITCHES)
    events = read_jsonl(tmp_path / "events.jsonl")
    refused = next(e for e in events if e["kind"] == "rejected")
    assert refused["command"] == "set_loss" and "hinge, bce, wasserstein" in refused["reason"]
    assert [(e["step"], e["loss"]) for e in events if e["kind"] == "set_loss"] == [(10, "bce"), (20, "wasserstein")]
    assert [r["loss"] for r in metrics_rows(tmp_path)] == ["hinge"] * 10 + ["bce"] * 10 + ["wasserstein"] * 10
    assert session.trainer.settings.loss == "wasserstein"
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["config"]["loss"]["kind"] == "wasserstein"
    assert json.loads((tmp_path / "config.json").read_text())["loss"]["kind"] == "hinge"  # the recipe it started from


def test_a_replay_of_the_record_trains_the_same_weights(tmp_path, tiny_ring_config):
    live = run_session(tiny_ring_config(), tmp_path / "live", 30, replay=SWITCHES)
    recorded = from_dict(json.loads((tmp_path / "live" / "config.json").read_text()))
    replayed = run_session(recorded, tmp_path / "replay", 30, replay=read_jsonl(tmp_path / "live" / "events.jsonl"))
    assert_same_weights(weights(live.trainer), weights(replayed.trainer))


def test_a_resume_across_the_switch_is_bit_exact(tmp_path, tiny_ring_config):
    straight = run_session(tiny_ring_config(), tmp_path / "straight", 30, replay=SWITCHES)
    run_session(tiny_ring_config(), tmp_path / "split", 15, replay=SWITCHES)
    state = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")
    assert state["config"]["loss"]["kind"] == "bce"
    resumed = run_session(from_dict(state["config"]), tmp_path / "split", 15, state=state, replay=SWITCHES[1:])
    assert_same_weights(weights(straight.trainer), weights(resumed.trainer))


def test_the_inbox_takes_a_loss_switch(tmp_path):
    assert parse_command('{"kind": "set_loss", "loss": "bce"}', tmp_path) == C.SetLoss("bce")
