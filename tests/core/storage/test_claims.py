"""Claims: of two workers one gets the run; a claim whose holder died is taken over, once."""
import json
import os
import socket
import subprocess
import sys
import time

from core.storage.claims import claim, holder, is_stale, release, take_over


def test_one_claim_at_a_time_and_it_names_its_holder(tmp_path):
    lock = tmp_path / "claim"
    assert claim(lock) and not claim(lock)
    assert holder(lock)["pid"] == os.getpid() and holder(lock)["host"] == socket.gethostname()
    release(lock)
    assert claim(lock)


def test_a_claim_whose_process_died_is_stale_unless_its_work_still_beats(tmp_path):
    lock = tmp_path / "claim"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": gone.pid, "since": time.time()}))
    assert is_stale(lock, None)
    assert not is_stale(lock, time.time() - 1)  # a heartbeat a second old: the run is being trained
    claim(tmp_path / "mine")
    assert not is_stale(tmp_path / "mine", None)  # this process holds it
    old = {"host": "elsewhere", "pid": 1, "since": time.time() - 1000}
    (tmp_path / "far").write_text(json.dumps(old))
    assert is_stale(tmp_path / "far", None) and not is_stale(tmp_path / "far", time.time() - 5)


def test_of_two_workers_taking_over_a_stale_claim_one_succeeds(tmp_path):
    lock = tmp_path / "claim"
    lock.write_text("{}")
    assert take_over(lock) and not take_over(tmp_path / "nothing-there")
    assert holder(lock)["pid"] == os.getpid() and len(list(tmp_path.glob("claim.stale-*"))) == 1


def test_workers_racing_for_a_new_claim_never_both_get_it(tmp_path):
    """Each does what a sweep worker does: claim, else take over a claim that looks stale. A claim seen
    between its creation and its content must not look stale."""
    import threading

    for trial in range(200):
        lock, won, start = tmp_path / f"claim-{trial}", [], threading.Barrier(4)

        def worker():
            start.wait()
            if claim(lock) or (is_stale(lock, None) and take_over(lock)):
                won.append(threading.get_ident())

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, trial
    assert not list(tmp_path.glob("*.draft"))  # the drafts a claim is written in are gone
