"""A run followed and steered through the remote channel (core/storage/remote.py and `hinge-train serve`), over
an ssh that stays on this machine (tests/core/storage/local_ssh.py): the same channel as over a real sshd, whose
own tests are slow."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.base.errors import UserError
from core.protocol import commands as C
from core.protocol import wire
from core.protocol.telemetry import Samples, Scores, Settings, Telemetry
from core.storage.remote import RemoteFollower, remote_target
from core.tools.serve import Inbox
from tests.core.helpers import events, heartbeat, metrics_rows, run_session, wait_until
from tests.core.storage.sshd import local_sshd

LOCAL_SSH = f"{sys.executable} {Path(__file__).with_name('local_ssh.py')}"
REFUSING_SSH = f"{LOCAL_SSH} --refuse nowhere"  # as ssh answers for a host it cannot find
HINGE_TRAIN = f"{sys.executable} -m core.cli"


def follow(run_dir, host="box", **kwargs) -> RemoteFollower:
    return RemoteFollower(remote_target(f"{host}:{run_dir}"), kwargs.pop("ssh", LOCAL_SSH),
                          kwargs.pop("remote_hinge_train", HINGE_TRAIN))


def hinge_train(*args, ssh=LOCAL_SSH, timeout=60):
    return subprocess.run([sys.executable, "-m", "core.cli", *args, "--ssh", ssh, "--remote-hinge-train",
                           HINGE_TRAIN], capture_output=True, text=True, timeout=timeout, cwd=Path.cwd())


@pytest.fixture
def sshd(tmp_path):
    """A real OpenSSH server on 127.0.0.1 for this test (tests/core/storage/sshd.py): the ssh command line."""
    why = []
    with local_sshd(tmp_path / "ssh", why) as ssh:
        if ssh is None:
            pytest.skip(why[0])
        yield ssh


def test_telemetry_crosses_the_wire_whole_and_nothing_else_is_built_from_it():
    t = Telemetry(step=3, state="running", elapsed_s=1.5, steps_per_s=2.0, settings=Settings(1, 0.5, True, 1e-4, 2e-4,
                  1, 2, "hinge", "color"), steps=np.arange(1, 4), scalars={"d_loss": np.ones(3, np.float32)},
                  scores=Scores(3, np.linspace(-1, 1, 5), np.arange(4.0), np.ones(4)),
                  samples=Samples(3, grid=np.arange(48, dtype=np.uint8).reshape(4, 4, 3), cell=2),
                  events=({"kind": "pause", "step": 2},), health={"stalled": {"state": "ok"}})
    back = wire.decode(wire.encode({"telemetry": t}))["telemetry"]
    assert back.settings == t.settings and back.events == t.events and back.health == t.health
    assert np.array_equal(back.samples.grid, t.samples.grid) and back.samples.grid.dtype == np.uint8
    assert np.array_equal(back.scalars["d_loss"], t.scalars["d_loss"]) and back.scalars["d_loss"].dtype == np.float32
    with pytest.raises(wire.WireError, match="type 'Popen'"):
        wire.decode(json.dumps({"x": {"__type__": "Popen", "args": "rm"}}))
    with pytest.raises(wire.WireError, match="'object'"):
        wire.decode(json.dumps({"x": {"__array__": "object", "shape": [1], "data": ""}}))
    with pytest.raises(wire.WireError, match=f"version 0 of the remote format and this one {wire.VERSION}"):
        wire.check_hello({"hello": "hinge-train", "version": 0})


@pytest.mark.parametrize("text, remote", [("gpu:/runs/a", ("gpu", "/runs/a")), ("me@gpu.lab:runs/a", ("me@gpu.lab",
                                          "runs/a")), ("/runs/a:b", None), ("./x:y", None), ("runs/a", None)])
def test_a_target_is_remote_as_scp_reads_it(text, remote):
    target = remote_target(text)
    assert (target and (target.host, target.run_dir)) == remote


def test_a_finished_run_reads_the_same_over_the_channel_as_from_its_folder(tmp_path, tiny_ring_config):
    run_session(tiny_ring_config(publish_every_s=0.01, samples_every_s=0.05), tmp_path, 60,
                commands=[C.SetMargins(0.4, 0.6)])
    follower, box = follow(tmp_path), []
    try:
        wait_until(lambda: box.append(follower.poll()) or box[-1] is not None, timeout=20)
        t = box[-1]
        assert list(t.steps) == [int(r["step"]) for r in metrics_rows(tmp_path)] and t.state == "done"
        assert t.settings.margin_real == 0.4 and t.samples.fake_points.shape[1] == 2
        assert follower.finished and follower.config["preset"] == "tiny-ring"
    finally:
        follower.close()
    said = hinge_train("watch", f"box:{tmp_path}", "--json", "--seconds", "2")
    assert said.returncode == 0, said.stderr
    assert json.loads(said.stdout.splitlines()[0])["step"] == 60


@pytest.mark.parametrize("host, remote_hinge_train, run_dir, words", [
    ("nowhere", HINGE_TRAIN, "RUN", "Could not resolve hostname nowhere"),
    ("box", "/no/such/hinge-train", "RUN", "is hinge-train installed there? --remote-hinge-train"),
    ("box", HINGE_TRAIN, "/tmp", "is not a run directory"),
])
def test_a_wrong_target_is_one_line_within_seconds(tmp_path, tiny_ring_config, host, remote_hinge_train, run_dir,
                                                   words):
    run_session(tiny_ring_config(), tmp_path, 5)
    started = time.monotonic()
    with pytest.raises(UserError, match=words.replace("?", r"\?")) as refused:
        follow(tmp_path if run_dir == "RUN" else run_dir, host, remote_hinge_train=remote_hinge_train,
               ssh=REFUSING_SSH)
    assert time.monotonic() - started < 10 and "\n" not in str(refused.value)


def test_a_command_resent_after_a_reconnect_reaches_the_inbox_once(tmp_path, tiny_ring_config):
    run_session(tiny_ring_config(), tmp_path, 5)
    first, again = Inbox(tmp_path), Inbox(tmp_path)  # the far end before and after a reconnect
    line = {"command": {"kind": "pause"}, "id": "a1"}
    assert first.deliver(line) is None and again.deliver(line) is None
    assert [json.loads(x)["id"] for x in (tmp_path / "commands.jsonl").read_text().splitlines()] == ["a1"]
    refused = first.deliver({"command": {"kind": "set_n_dis", "n_dis": "x"}, "id": "a2"})
    assert refused["id"] == "a2" and "n_dis" in refused["refused"]


def test_the_run_directory_s_files_are_fetched_over_the_channel_and_nothing_outside_it(tmp_path, tiny_ring_config):
    run = tmp_path / "run"
    run_session(tiny_ring_config(), run, 20)
    (tmp_path / "secret.txt").write_text("not the run's")
    here = tmp_path / "here"
    follower = follow(run)
    try:
        asked = {name: follower.fetch(name, here) for name in ("metrics.csv", "checkpoints", "../secret.txt", "nope")}
        wait_until(lambda: (follower.poll(), len(follower.fetched))[1] == 4, timeout=20)
    finally:
        follower.close()
    got = {name: follower.fetched[ident] for name, ident in asked.items()}
    assert got["metrics.csv"].read_bytes() == (run / "metrics.csv").read_bytes()
    assert sorted(p.name for p in got["checkpoints"].iterdir()) == sorted(p.name for p in (run / "checkpoints").iterdir())
    assert "not inside the run directory" in got["../secret.txt"]
    assert "nope: No such file or directory" in got["nope"]


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["local", "sshd"])
def test_a_live_run_is_steered_over_the_channel_and_a_dropped_connection_loses_no_step(tmp_path, request, transport):
    ssh, host = (LOCAL_SSH, "box") if transport == "local" else (request.getfixturevalue("sshd"), "127.0.0.1")
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "core.cli", "train", "--preset", "ring8", "--steps", "10000000",
                                "--set", "train.batch_size=32", "--set", "train.threads=1", "--run-dir", str(run)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: heartbeat(run).get("step", 0) > 20)
        follower, seen = follow(run, host, ssh=ssh), []

        def read() -> None:
            t = follower.poll()
            if t is not None:
                seen.extend(t.steps.tolist())

        ident = follower.send(C.SetMargins(0.5, 0.7))
        wait_until(lambda: read() or ident in follower.answers)
        assert follower.answers[ident]["kind"] == "set_margins" and follower.answers[ident]["margin_real"] == 0.5
        asked = follower.fetch("config.json", tmp_path / "here")  # answered before the drop, or asked again after
        os.killpg(follower._process.pid, signal.SIGKILL)  # the link drops: ssh (and what it runs here) is gone
        dropped_at = time.monotonic()
        wait_until(lambda: read() or follower.status.startswith("reconnecting"))
        wait_until(lambda: read() or (follower.status == "connected" and seen[-1] > heartbeat(run)["step"] - 50))
        assert time.monotonic() - dropped_at < 10
        assert seen == list(range(1, seen[-1] + 1))  # every step, once, in order
        wait_until(lambda: read() or asked in follower.fetched)
        assert follower.fetched[asked].read_bytes() == (run / "config.json").read_bytes()
        said = hinge_train("steer", f"{host}:{run}", '{"kind": "set_n_dis", "n_dis": 0}', ssh=ssh)
        assert said.returncode == 1 and said.stderr.startswith("refused: ") and "n_dis" in said.stderr  # by the run
        said = hinge_train("steer", f"{host}:{run}", '{"kind": "pause"}', ssh=ssh)
        assert said.returncode == 0 and said.stdout.startswith("applied: step")
        follower.close()
    finally:
        process.kill()
        process.wait()
    assert [e["kind"] for e in events(run)].count("set_margins") == 1


def test_steer_checks_a_command_here_and_says_when_no_run_answers(tmp_path, tiny_ring_config):
    run_session(tiny_ring_config(), tmp_path, 5)
    refused = hinge_train("steer", str(tmp_path), '{"kind": "set_margins", "margin_real": "wide"}')
    assert refused.returncode == 2 and "set_margins" in refused.stderr
    assert not (tmp_path / "commands.jsonl").exists() or "wide" not in (tmp_path / "commands.jsonl").read_text()
    waited = hinge_train("steer", str(tmp_path), '{"kind": "pause"}', "--timeout", "1")
    assert waited.returncode == 3 and "no answer within 1 s" in waited.stderr
    assert json.loads((tmp_path / "commands.jsonl").read_text())["kind"] == "pause"  # it waits for the next session


@pytest.mark.slow
def test_a_run_started_on_another_machine_trains_on_after_the_connection_ends(tmp_path):
    from core.storage.remote import start_remote_run

    run = tmp_path / "remote-run"
    target = start_remote_run("box", ["--preset", "ring8", "--set", "train.threads=1", "--set=train.batch_size=32",
                                      "--steps", "100000"], str(run), LOCAL_SSH, HINGE_TRAIN)
    try:
        assert (run / "config.json").is_file() and target.run_dir == str(run)
        wait_until(lambda: heartbeat(run).get("step", 0) > 20)  # trains with no connection open
        said = hinge_train("steer", f"box:{run}", '{"kind": "stop"}')
        assert said.returncode == 0, said.stderr
        wait_until(lambda: heartbeat(run).get("state") == "stopped")
    finally:
        if heartbeat(run).get("pid"):
            subprocess.run(["kill", str(heartbeat(run)["pid"])], capture_output=True)
    with pytest.raises(UserError, match="no preset named 'nonesuch'"):
        start_remote_run("box", ["--preset", "nonesuch"], str(tmp_path / "bad"), LOCAL_SSH, HINGE_TRAIN)
