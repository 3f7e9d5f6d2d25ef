"""A checkpoint looked at from a process that does not import torch (the window's): a short-lived
`hinge-train checkpoint CKPT --describe` loads it and says its step and config, or why it cannot."""
from __future__ import annotations

import json
import subprocess
import sys

from core.base.errors import CheckpointError


def describe_checkpoint(path: str) -> dict:
    """{"step", "config"} of the checkpoint at path; CheckpointError with its one-line reason otherwise."""
    result = subprocess.run([sys.executable, "-m", "core.cli", "checkpoint", str(path), "--describe"],
                            capture_output=True, text=True, timeout=120)
    if result.returncode:
        raise CheckpointError((result.stderr.strip().splitlines() or ["not a checkpoint"])[-1])
    return json.loads(result.stdout.strip().splitlines()[-1])
