"""The run directory's inbox, commands.jsonl: parsing that refuses what it must, and a headless run
steered from another process by appending lines."""
import subprocess
import sys
import time

import pytest

from core.protocol import commands as C
from core.base.errors import UserError
from core.storage.inbox import CommandFile, append_command, parse_command
from tests.core.helpers import events, heartbeat, metrics_rows, wait_until

HOSTILE = [
    ("not json at all", "not a JSON line"),
    ('["kind", "pause"]', "JSON object"),
    ('{"kind": "rm -rf"}', "unknown command kind"),
    ('{"kind": "pause", "step": 3}', "unknown: step"),
    ('{"kind": "set_spectral_norm", "enabled": "false"}', "enabled must be bool"),
    ('{"kind": "step", "n": true}', "n must be int"),
    ('{"kind": "set_margins", "margin_real": "1"}', "margin_real must be float"),
    ('{"kind": "save_checkpoint", "path": "../outside.pt"}', "outside the run directory"),
    ('{"kind": "export_samples", "path": "/etc/cron.d/x.png"}', "outside the run directory"),
]


@pytest.mark.parametrize("line,reason", HOSTILE)
def test_a_line_that_is_not_a_safe_command_is_refused_with_its_reason(tmp_path, line, reason):
    with pytest.raises(UserError, match=reason):
        parse_command(line, tmp_path)


def test_paths_are_confined_to_the_run_directory(tmp_path):
    command = parse_command('{"kind": "export_samples", "path": "samples/mine-{step}.png", "n": 8}', tmp_path)
    assert command == C.ExportSamples(str(tmp_path.resolve() / "samples" / "mine-{step}.png"), n=8)
    (tmp_path / "link").symlink_to("/tmp")
    with pytest.raises(UserError, match="outside"):
        parse_command('{"kind": "save_checkpoint", "path": "link/x.pt"}', tmp_path)


def test_only_whole_lines_written_after_opening_are_read(tmp_path):
    append_command(tmp_path, C.Pause())  # meant for an earlier session
    inbox = CommandFile(tmp_path)
    with open(tmp_path / "commands.jsonl", "a") as f:
        f.write('{"kind": "set_margins", "margin_real": 0.5, ')
    assert inbox.read() == []  # half a line waits for its end
    with open(tmp_path / "commands.jsonl", "a") as f:
        f.write('"margin_fake": 0.7}\n\nnonsense\n')
    (line, margins, ident), (bad_line, refusal, _) = inbox.read()
    assert (line, margins, ident) == (2, C.SetMargins(0.5, 0.7), None)
    assert bad_line == 4 and isinstance(refusal, UserError)
    assert inbox.read() == []


def test_a_line_may_carry_an_id_its_answer_repeats(tmp_path):
    inbox = CommandFile(tmp_path)
    with open(tmp_path / "commands.jsonl", "a") as f:
        f.write('{"kind": "pause", "id": "laptop-7"}\n{"kind": "set_n_dis", "n_dis": "x", "id": "laptop-8"}\n'
                '{"kind": "pause", "id": "no spaces"}\n')
    (_, pause, first), (_, refusal, second), (_, bad_id, third) = inbox.read()
    assert (pause, first) == (C.Pause(), "laptop-7")
    assert isinstance(refusal, UserError) and second == "laptop-8"
    assert isinstance(bad_id, UserError) and "id must be" in str(bad_id) and third is None


@pytest.mark.slow
def test_a_headless_run_is_steered_from_another_process_through_its_inbox(tmp_path):
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "core.cli", "train", "--preset", "ring8", "--steps", "10000000",
                                "--set", "train.batch_size=32", "--set", "train.threads=1", "--run-dir", str(run)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: heartbeat(run).get("step", 0) > 20)
        append_command(run, {"kind": "set_margins", "margin_real": 0.5, "margin_fake": 0.7})
        append_command(run, C.Pause())
        wait_until(lambda: heartbeat(run).get("state") == "paused")
        paused_at = heartbeat(run)["step"]
        with open(run / "commands.jsonl", "a") as f:
            f.write("\n".join(line for line, _ in HOSTILE) + "\n")
            f.write('{"kind": "set_margins", "margin_real": NaN, "margin_fake": 1}\n')
        wait_until(lambda: len([e for e in events(run) if e["kind"] == "rejected"]) == len(HOSTILE) + 1)
        wait_until(lambda: heartbeat(run)["wall_time"] > time.time() - 0.1)  # a heartbeat after the refusals
        assert heartbeat(run)["step"] == paused_at and heartbeat(run)["state"] == "paused"  # refusals never
        # restart or stop training
        append_command(run, C.Resume())
        wait_until(lambda: heartbeat(run)["step"] > paused_at + 20)
        append_command(run, C.Stop())
        assert process.wait(60) == 3  # stopped before its step budget
    finally:
        process.kill()
        process.wait()
    log = events(run)
    margins = next(e for e in log if e["kind"] == "set_margins")
    assert margins["source"] == "commands.jsonl:1" and margins["margin_real"] == 0.5
    refused = [e for e in log if e["kind"] == "rejected"]
    assert len(refused) == len(HOSTILE) + 1
    assert [e.get("line") for e in refused[:len(HOSTILE)]] == list(range(3, 3 + len(HOSTILE)))
    assert "finite number" in refused[-1]["reason"]  # NaN parses as JSON; the engine refuses it
    assert [e["kind"] for e in log if e["kind"] in ("pause", "resume", "stop")] == ["pause", "resume", "stop"]
    rows = metrics_rows(run)
    changed_at = margins["step"]
    assert all(float(r["margin_real"]) == (0.5 if int(r["step"]) > changed_at else 1.0) for r in rows)
    assert heartbeat(run)["state"] == "stopped" and heartbeat(run)["step"] == int(rows[-1]["step"])
    assert (run / "live" / "samples.png").stat().st_size > 0 and (run / "checkpoints" / "last.pt").exists()
