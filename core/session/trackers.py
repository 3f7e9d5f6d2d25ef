"""The run's trackers (core/trackers), fed from a thread of their own. The training thread's whole share is to put each
publication on a queue; the thread turns what came into one batch every log.every_s and hands it to each
tracker. A tracker that raises is dropped, and said once: in events.jsonl (recorded on the training thread, at
the next step boundary) and so in the window and on the terminal. Training never waits for a tracker: at the
end of the run (close()) the thread is given CLOSE_WAIT_S to finish, and left behind if it has not."""
from __future__ import annotations

import queue
import threading
import time

from core.protocol.states import EventKind
from core.session.parts import Part
from core.trackers.about import RunAbout
from core.trackers.batch import Batch, Translator

CLOSE_WAIT_S = 30.0


class TrackerSink(Part):
    def __init__(self, makers: dict, about: RunAbout, record, every_s: float):
        """makers: tracker name -> make(about), called on the thread (an unreachable server must not hold up the
        first step)."""
        self.makers, self.about, self.record, self.every_s = makers, about, record, every_s
        self.trackers: list = []
        self.failed: dict[str, str] = {}  # tracker name -> why it was dropped
        self._said: set[str] = set()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="trackers", daemon=True)

    def __call__(self, telemetry) -> None:
        """A publication: queued, nothing more on the training thread."""
        self._queue.put(telemetry)

    def on_start(self) -> None:
        self._thread.start()

    def after_steps(self) -> None:
        for name, why in list(self.failed.items()):
            if name not in self._said:
                self._said.add(name)
                self.record.record({"kind": EventKind.TRACKER_FAILED, "tracker": name,
                                    "reason": f"{why}; training goes on without it"})

    def close(self) -> None:
        """After the session's last publication: the trackers get what is queued, then finish."""
        self._queue.put(None)
        self._thread.join(CLOSE_WAIT_S)
        if self._thread.is_alive():
            self.failed.setdefault("trackers", f"still sending after {CLOSE_WAIT_S:.0f} s; left behind")
        self.after_steps()

    def _work(self) -> None:
        translator = Translator()
        for name, make in self.makers.items():
            try:
                self.trackers.append(make(self.about))
            except Exception as exc:  # noqa: BLE001 - whatever a tracker raises, training goes on without it
                self.failed[name] = f"{name}: {type(exc).__name__}: {exc}"
        self._each(lambda tracker: tracker.start(self.about))
        while True:
            batch, closing = Batch(), False
            deadline = time.monotonic() + self.every_s
            while not closing and time.monotonic() < deadline:
                try:
                    item = self._queue.get(timeout=deadline - time.monotonic())
                except (queue.Empty, ValueError):  # ValueError: the deadline passed meanwhile
                    break
                if item is None:
                    closing = True
                else:
                    batch.extend(translator.batch(item))
            if batch:
                self._each(lambda tracker: tracker.write(batch))
            if closing:
                last = self.about.last_checkpoint
                self._each(lambda tracker: tracker.finish(last if last.is_file() else None))
                return

    def _each(self, call) -> None:
        for tracker in self.trackers:
            if tracker.name in self.failed:
                continue
            try:
                call(tracker)
            except Exception as exc:  # noqa: BLE001 - whatever a tracker raises, training goes on without it
                self.failed[tracker.name] = f"{tracker.name}: {type(exc).__name__}: {exc}"


def tracker_sink(cfg, run_dir, record, parent: dict | None = None) -> TrackerSink | None:
    """The trackers the config asks for, or None when it asks for none."""
    makers = {}
    if cfg.log.tensorboard:
        from core.trackers.to_tensorboard import TensorBoardTracker
        makers["tensorboard"] = TensorBoardTracker.for_run
    if cfg.log.mlflow:
        from core.trackers.to_mlflow import MlflowTracker
        makers["mlflow"] = MlflowTracker.for_run
    if cfg.log.wandb:
        from core.trackers.to_wandb import WandbTracker
        makers["wandb"] = WandbTracker.for_run
    if not makers:
        return None
    config = {**cfg.to_dict(), **({"parent": parent} if parent else {})}
    return TrackerSink(makers, RunAbout.of(run_dir, config), record, cfg.log.every_s)
