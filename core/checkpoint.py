"""Checkpoints: written atomically, read with weights_only=True (a file carrying code is refused)."""
from __future__ import annotations

import os
import pickle
import sys
import tempfile
import zipfile
from pathlib import Path

import torch

from core.errors import CheckpointError

FORMAT = 1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write state to path via a temporary file and an atomic rename: a crash leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _looks_like_a_pickle(path: Path) -> bool:
    """torch's zip format, or a bare pickle (protocol 2 and up start with 0x80); not, say, a text file."""
    with open(path, "rb") as f:
        return f.read(1) == b"\x80" or zipfile.is_zipfile(path)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint on the CPU; any problem becomes a CheckpointError with one clear line."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint path is a directory, not a file: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint is empty: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if ("weights_only" in str(exc) or "Unsupported" in str(exc)) and _looks_like_a_pickle(path):
            raise CheckpointError(f"refused {path}: it holds pickled objects other than tensors "
                                  "(possibly code); only plain checkpoints are loaded") from None
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt): {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds (IndexError for a text file)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt): {first}") from None
    required = ("format", "step", "config", "G", "D", "opt_g", "opt_d", "sn_layers", "rng", "fixed_z")
    if not isinstance(state, dict) or any(k not in state for k in required):
        raise CheckpointError(f"{path} is not a Hinge-GAN Workbench checkpoint (missing fields)")
    if state["format"] != FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {state['format']}, this version reads {FORMAT}")
    return state


def load_module_state(module: torch.nn.Module, state: dict, what: str) -> None:
    """load_state_dict, but a mismatch is reported by layer and shape."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise CheckpointError(f"the checkpoint's {what} does not match this architecture: "
                              f"missing {missing[:3]}, unexpected {unexpected[:3]}")
    for key, value in state.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise CheckpointError(f"the checkpoint's {what} does not match this model at {key}: "
                                  f"checkpoint {tuple(value.shape)}, model {tuple(own[key].shape)} "
                                  "(different image size, channels or width?)")
    module.load_state_dict(state)


def main(argv=None) -> int:
    """`python -m core.checkpoint CKPT`: exit 0 if CKPT loads, else one line on stderr and exit 2. The window
    asks this of a file in a short-lived process before it stops the run it has (torch stays out of it)."""
    path = (argv or sys.argv[1:])[0]
    try:
        state = load_checkpoint(path)
    except CheckpointError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"step {state['step']}, preset {state['config'].get('preset', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
