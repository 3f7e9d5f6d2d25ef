"""The CPU the engine shares with everything else: how many cores are free, and at what priority it runs.

A parallel region waits for its slowest thread, so with a core taken by another process the thread that
shares it holds every step back. By default (`train.threads = 0`) the engine uses as many threads as there
are cores other processes leave free, re-measured every few seconds from /proc/stat, and trains under
SCHED_BATCH (its fair share, but an interactive window preempts it). Measurements: docs/performance.md.
"""
from __future__ import annotations

import math
import os
import threading
import time

ADAPT_EVERY_S = 3.0
FIRST_LOOK_S = 1.0
BACKGROUND_NICENESS = 10  # evaluation: about a tenth of a normal thread's share when the CPU is contested


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_as_batch_work() -> None:
    """Normal priority, but mildly disfavoured at wake-up: a window's timer preempts training, while
    training keeps its fair share against other processes (niceness would cut that share)."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def run_in_background() -> None:
    """Lower the calling thread's priority (Linux schedules threads one by one); threads it starts inherit it."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    except (AttributeError, OSError):
        pass


def system_busy_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot, or None where /proc/stat is missing."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_busy_seconds() -> float:
    t = os.times()
    return t.user + t.system


def threads_for(free_cores: float, cores: int) -> int:
    """The thread count for this many free cores: a core counts when at least 70% of it is free."""
    return max(1, min(cores, math.floor(free_cores + 0.3)))


def free_cores(sample_s: float = 0.1, cores: int | None = None) -> int:
    """The thread count for the cores other processes leave free, measured now over sample_s seconds (all
    of them where /proc/stat is missing)."""
    governor = ThreadGovernor(cores)
    time.sleep(sample_s)
    others = governor.others_busy()
    return governor.cores if others is None else threads_for(governor.cores - others, governor.cores)


class ThreadGovernor:
    """Follows the cores other processes leave free. `poll()` returns a new thread count when one is due.

    A change needs two measurements in a row to agree, so a passing burst does not flip it.
    """

    def __init__(self, cores: int | None = None, every_s: float = ADAPT_EVERY_S, threads: int | None = None):
        self.cores = cores or usable_cores()
        self.every_s = every_s
        self.threads = threads or self.cores  # the count in force now
        self._candidate = None
        self._decided = False  # the first decision, a second after start, needs no confirmation
        self._last = self._sample()

    @staticmethod
    def _sample():
        return time.monotonic(), system_busy_seconds(), own_busy_seconds()

    def others_busy(self) -> float | None:
        """Cores kept busy by other processes since the last measurement; None without /proc/stat."""
        (t0, sys0, own0), now = self._last, self._sample()
        t1, sys1, own1 = now
        if sys0 is None or sys1 is None or t1 - t0 <= 0:
            return None
        self._last = now
        return max(0.0, (sys1 - sys0) - (own1 - own0)) / (t1 - t0)

    def due(self) -> bool:
        return time.monotonic() - self._last[0] >= (self.every_s if self._decided else FIRST_LOOK_S)

    def poll(self, force: bool = False) -> tuple[int, float] | None:
        """(new thread count, cores busy elsewhere) when the count should change; else None."""
        if not (force or self.due()):
            return None
        others = self.others_busy()
        if others is None:
            return None
        force, self._decided = force or not self._decided, True
        wanted = threads_for(self.cores - others, self.cores)
        if wanted == self.threads:
            self._candidate = None
            return None
        if not force and self._candidate != wanted:
            self._candidate = wanted
            return None
        self._candidate = None
        self.threads = wanted
        return wanted, others
