"""One clock for several processes: seconds since the machine booted, which the start time of any process
(Linux's /proc) is counted in, so a window and its engine can say how long each took to start; and progress
passed on now and then."""
from __future__ import annotations

import math
import os
import time
from typing import Callable


def since_boot() -> float:
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except AttributeError:  # not Linux
        return time.monotonic()


def process_started() -> float | None:
    """When this process started, on the since_boot clock (None where /proc is missing)."""
    try:
        with open(f"/proc/{os.getpid()}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def every_so_often(progress: Callable[[int, int], None], seconds: float = 0.2) -> Callable[[int, int], None]:
    """progress(done, total), passed on at most every `seconds`, and always at the end."""
    last = -math.inf

    def passed_on(done: int, total: int) -> None:
        nonlocal last
        if done == total or time.monotonic() - last >= seconds:
            last = time.monotonic()
            progress(done, total)
    return passed_on
