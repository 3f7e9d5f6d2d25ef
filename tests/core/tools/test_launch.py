"""hinge-train --nproc: which rank's end is reported when a run of several processes ends."""
import signal

from torch.distributed.elastic.multiprocessing.errors import ProcessFailure

from core.tools.launch import the_rank_that_ended_it


def ended(**ranks):
    """{rank: torch's own ProcessFailure} for rank=exit status (negative: the signal that ended it)."""
    return {int(name[1:]): ProcessFailure(int(name[1:]), 1000 + int(name[1:]), code, "<N/A>")
            for name, code in ranks.items()}


def test_a_rank_0_that_stopped_the_run_speaks_for_it_though_torchrun_terminated_the_others():
    assert the_rank_that_ended_it(ended(r0=3, r1=-signal.SIGTERM)) is None  # stopped: rank 0's status 3


def test_a_rank_a_signal_killed_is_named_before_those_torchrun_terminated_after_it():
    rank, failure = the_rank_that_ended_it(ended(r0=-signal.SIGTERM, r1=-signal.SIGKILL, r2=-signal.SIGTERM))
    assert rank == 1 and failure.exitcode == -signal.SIGKILL
    rank, _ = the_rank_that_ended_it(ended(r0=1, r1=-signal.SIGKILL))  # rank 0 failed because rank 1 died
    assert rank == 1


def test_a_rank_that_failed_on_its_own_is_named():
    rank, failure = the_rank_that_ended_it(ended(r1=2))
    assert rank == 1 and failure.exitcode == 2
