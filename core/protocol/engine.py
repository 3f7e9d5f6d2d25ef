"""What the window and its engine process say to each other besides commands and telemetry: how to start a
session, and how it ended. Plain data, so it crosses a process boundary; the engine process's entry point is
named as text (core.tools.engine_process), so the window's process never imports what it runs."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

ENGINE_ENTRY = "core.tools.engine_process:child_main"
IN_THREAD_ENTRY = "core.tools.engine_process:run_session"


@dataclass(frozen=True)
class RunSpec:
    """Everything an engine needs to start a session."""

    config: dict | None  # None with resume: the checkpoint's own config
    run_dir: str
    device: str = "auto"
    resume: str | None = None  # checkpoint path
    max_steps: int | None = None  # steps to train in this session; None: until stopped
    paused: bool = False


@dataclass(frozen=True)
class Failure:
    """The engine ended without finishing: an exception, a kill, out of memory."""

    message: str
    detail: str = ""


@dataclass(frozen=True)
class Finished:
    state: str


@dataclass(frozen=True)
class Preparing:
    """Work before the first step that takes a while (decoding a folder of images): `done` of `total`."""

    what: str
    done: int
    total: int


@dataclass(frozen=True)
class Startup:
    """When the engine process reached each stage of its start (core.base.clock.since_boot seconds)."""

    stages: dict


def call_entry(entry: str, *args):
    """Call "package.module:function" with args, importing the module only now (in the process that runs it)."""
    module, name = entry.split(":")
    return getattr(importlib.import_module(module), name)(*args)
