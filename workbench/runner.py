"""The runner: a training session in a child process (or, for debugging, a thread of this one), behind two
plain channels: commands in, telemetry out. No Qt here; the window polls `poll()` on its timer. A child by
default: in a thread of the window's process the session trains slower (GIL contention with plotting;
docs/performance.md, "The window's cost"), and the window's process never imports torch."""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading

from core.protocol import commands as C
from core.protocol.engine import ENGINE_ENTRY, IN_THREAD_ENTRY, Failure, Finished, RunSpec, call_entry


class Runner:
    """Starts a session and carries commands to it and telemetry from it."""

    def __init__(self, in_process: bool = False):
        self.in_process = in_process
        self._inbox: list = []
        self._lock = threading.Lock()
        self._process = None
        self._thread = None
        self._forwarder = None
        self._commands = None
        self._done = threading.Event()

    @property
    def alive(self) -> bool:
        return not self._done.is_set() and (self._forwarder is not None or self._thread is not None)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, spec: RunSpec) -> None:
        with self._lock:
            self._inbox = []  # nothing of an earlier run may reach the new one's window
        self._done.clear()
        if self.in_process:
            self._commands = queue.Queue()
            self._thread = threading.Thread(target=self._run_in_thread, args=(spec,), daemon=True,
                                            name="hinge-session")
            self._thread.start()
            return
        ctx = mp.get_context("spawn")
        self._commands = ctx.Queue()
        telemetry = ctx.Queue(maxsize=64)
        self._process = ctx.Process(target=call_entry, args=(ENGINE_ENTRY, spec, self._commands, telemetry, os.getpid()),
                                    daemon=True, name="hinge-engine")
        self._process.start()
        self._forwarder = threading.Thread(target=self._forward, args=(telemetry,), daemon=True,
                                           name="hinge-forwarder")
        self._forwarder.start()

    def _run_in_thread(self, spec: RunSpec) -> None:
        call_entry(IN_THREAD_ENTRY, spec, C.queue_inbox(self._commands), self._deliver)
        self._done.set()

    def _forward(self, telemetry) -> None:
        """The worker thread: telemetry from the child into the inbox; notices a child that died."""
        finished = False
        while True:
            try:
                item = telemetry.get(timeout=0.1)
            except queue.Empty:
                if not self._process.is_alive():
                    break
                continue
            except (EOFError, OSError):
                break
            self._deliver(item)
            finished = finished or isinstance(item, (Finished, Failure))
        code = self._process.exitcode
        if not finished and code is not None:
            why = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            self._deliver(Failure(f"the engine process {why} without finishing; "
                                  "restart from the last checkpoint to continue"))
        self._done.set()

    def _deliver(self, item) -> None:
        with self._lock:
            self._inbox.append(item)

    def poll(self) -> list:
        """Everything received since the last poll: Telemetry, Finished or Failure, in order."""
        with self._lock:
            items, self._inbox = self._inbox, []
        return items

    def send(self, command) -> None:
        if self.alive:
            self._commands.put(command)

    def request_stop(self) -> None:
        """Ask the session to stop at its next step boundary; it saves last.pt on the way out."""
        if self._commands is not None and self.alive:
            self._commands.put(C.Stop())

    @property
    def working(self) -> bool:
        """Whether the worker is still running (training, or saving on its way out)."""
        worker = self._process or self._thread
        return worker is not None and worker.is_alive()

    def wait(self, seconds: float) -> None:
        """Block up to `seconds` for the worker to end."""
        worker = self._process or self._thread
        if worker is not None:
            worker.join(seconds)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the session to stop, wait for it to save and end (at most `timeout` seconds, then kill it),
        and make sure the worker is gone."""
        self.request_stop()
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(1.0)
        for thread in (self._forwarder, self._thread):
            if thread is not None:
                thread.join(timeout)
        self._process = self._forwarder = self._thread = None
        self._done.set()
