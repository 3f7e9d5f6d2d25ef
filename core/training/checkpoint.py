"""The checkpoint format: written atomically, read with weights_only=True (a file carrying code is refused).
When a session saves is core.session.checkpointing; `hinge-train checkpoint CKPT` says whether one loads
(core.tools.sample_eval), which is how the window, without torch, looks at one (core.storage.checkpoint_probe)."""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from core.base.errors import CheckpointError
from core.base.files import atomic_file

FORMAT = 1


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write state to path whole and on disk before it replaces the old file: a crash leaves one or the other."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, durable=True) as f:
        torch.save({"format": FORMAT, **state}, f)
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
