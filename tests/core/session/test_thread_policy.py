import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.protocol import commands as C
from core.training.trainer import Trainer
from core.storage.rundir import RunDir
from core.session import Session
from core.base.cpu import ThreadGovernor, threads_for, usable_cores
from tests.core.helpers import metrics_rows, run_session, wait_until

needs_two_cores = pytest.mark.skipif(usable_cores() < 2, reason="needs two cores")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def busy_core():
    """Another process keeping one core busy, as a browser tab or a build would (running once it has
    burnt a tenth of a second)."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    wait_until(lambda: cpu_seconds(proc.pid) > 0.1)
    yield proc
    proc.kill()
    proc.wait()


def test_a_core_counts_as_free_when_most_of_it_is_free():
    assert threads_for(2.0, 2) == 2
    assert threads_for(1.75, 2) == 2  # a window's few percent do not cost a thread
    assert threads_for(1.33, 2) == 1  # one busy process sharing two cores with two engine threads
    assert threads_for(0.2, 2) == 1  # never fewer than one
    assert threads_for(15.0, 16) == 15


@pytest.mark.slow
@needs_two_cores
def test_the_governor_sees_a_busy_core_and_gives_it_up(busy_core):
    governor = ThreadGovernor(cores=2)
    burnt = cpu_seconds(busy_core.pid)
    wait_until(lambda: cpu_seconds(busy_core.pid) > burnt + 1.0)  # a second of the other process's work seen
    threads, busy_elsewhere = governor.poll(force=True)
    assert busy_elsewhere > 0.6
    assert threads == 1


@pytest.mark.slow
@needs_two_cores
def test_thread_counts_are_recorded_and_every_row_says_which_trained_it(tmp_path, tiny_ring_config, busy_core):
    """Whatever else the machine is doing: the first count is what the cores left free allowed (one, with a core
    busy here), every change is an event, and every metrics.csv row says the count that trained it. (When the
    governor gives a freed core back depends on the machine's other work: test_the_governor_sees_a_busy_core.)"""
    trainer = Trainer(tiny_ring_config(threads=0), "cpu")
    assert trainer.threads == 1  # one core is busy elsewhere: the first steps do not wait on it
    session = Session(trainer, RunDir(tmp_path))
    script = {300: C.SetThreads(2), 600: C.SetThreads(0), 900: C.Stop()}  # pinned, then the governor's again

    def inbox(timeout):
        return script.pop(min(script), None) if script and trainer.step >= min(script) else None

    session.run(inbox)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    changes = [e for e in events if e["kind"] == "set_threads"]
    assert changes[0] == {**changes[0], "step": 0, "threads": 1, "auto": True}
    pinned = next(e for e in changes if e["step"] >= 300)
    assert (pinned["threads"], pinned["auto"]) == (2, False)
    assert next(e for e in changes if e["step"] >= 600)["auto"] is True
    rows = metrics_rows(tmp_path)
    assert {1, 2} <= {int(r["threads"]) for r in rows}
    for row in rows:
        in_force = [e["threads"] for e in changes if e["step"] < int(row["step"])][-1]
        assert int(row["threads"]) == in_force, row["step"]


def test_a_replay_follows_the_recorded_thread_counts(tmp_path, tiny_digits_config):
    first = run_session(tiny_digits_config(threads=0), tmp_path / "a", 8, commands=[C.SetThreads(1)])
    events = (tmp_path / "a" / "events.jsonl").read_text().splitlines()
    assert [json.loads(e)["threads"] for e in events if '"set_threads"' in e][-1] == 1
    replayed = run_session(tiny_digits_config(threads=2), tmp_path / "b", 8,
                           replay=[json.loads(e) for e in events])
    assert replayed.trainer.threads == 1
    for (name, a), b in zip(first.trainer.D.state_dict().items(), replayed.trainer.D.state_dict().values()):
        assert torch.equal(a, b), name


def test_a_thread_count_from_the_inbox_is_checked(tmp_path, tiny_digits_config):
    run_session(tiny_digits_config(), tmp_path, 2, commands=[C.SetThreads(-1), C.SetThreads(True)])
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in events[:2]] == ["rejected", "rejected"]
    assert "threads must be" in events[0]["reason"]
