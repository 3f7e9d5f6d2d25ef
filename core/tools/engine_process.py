"""The engine process a window starts: one training session, commands in through a queue, telemetry out
through another, ending with Finished or the Failure that ended it. Torch is imported only once the process
has started drawing the embedded digits beside that import (core.training.digits.draw_ahead)."""
from __future__ import annotations

import os
import queue
import threading
import time
import traceback

from core.base.clock import every_so_often, process_started, since_boot
from core.base.cpu import run_as_batch_work
from core.base.errors import UserError
from core.config import from_dict, validate
from core.protocol import commands as C
from core.protocol.engine import Failure, Finished, Preparing, RunSpec, Startup
from core.training.digits import draw_ahead


def run_session(spec: RunSpec, receive, send, stages: dict | None = None) -> None:
    """Build the session a spec describes and run it; report when it was ready (with the `stages` of the
    process's start so far), its end, or its failure, through `send`."""
    try:
        from core.tools.runs import make_session
        from core.training.data import prepare_data
        from core.training.checkpoint import load_checkpoint

        state = load_checkpoint(spec.resume) if spec.resume else None
        cfg = validate(from_dict(spec.config if spec.config is not None else state["config"]))
        prepare_data(cfg.data, every_so_often(lambda done, total: send(Preparing("decoding images", done, total))))
        start = int(state["step"]) if state else 0
        session = make_session(cfg, state, spec.run_dir, spec.device, checkpoint=spec.resume, publish=send,
                               paused=spec.paused, wait_when_done=True,
                               max_steps=None if spec.max_steps is None else start + spec.max_steps)
        send(Startup({**(stages or {}), "session ready": since_boot()}))
        send(Finished(session.run(receive)))
    except BaseException as exc:  # the window shows whatever ended the engine
        text = str(exc).lower()
        out_of_memory = isinstance(exc, MemoryError) or "out of memory" in text or "can't allocate memory" in text
        summary = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        if out_of_memory:
            summary = f"out of memory: {exc}"
        send(Failure(summary, traceback.format_exc()))


def child_main(spec: RunSpec, commands, telemetry, parent_pid: int) -> None:
    """Entry point of the engine process. Exits by itself when the parent dies."""
    stages = {"engine process started": process_started()}
    config = spec.config or {}
    if config.get("data", {}).get("source") == "digits":
        draw_ahead(int(config["data"].get("n_samples", 10000)), int(config["data"].get("image_size", 32)))
    from core.training.compat import import_compiler_in_background

    stages["engine imported (torch)"] = since_boot()
    if config.get("train", {}).get("compile", "off") != "off":
        import_compiler_in_background()

    def watchdog():
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=watchdog, daemon=True).start()
    run_as_batch_work()  # the window's ticks preempt the engine; other processes do not get its share

    def send(item):
        while True:  # never block forever on a full queue: the watchdog ends us if the parent is gone
            try:
                telemetry.put(item, timeout=1.0)
                return
            except queue.Full:
                continue

    run_session(spec, C.queue_inbox(commands), send, stages)
    telemetry.close()
    telemetry.join_thread()
