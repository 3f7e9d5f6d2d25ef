"""`hinge-train sample`, `eval` and `checkpoint`: what a checkpoint's generator makes, how good it is, and
whether the file loads at all."""
from __future__ import annotations

import json
import sys

import numpy as np
import torch

from core.base.errors import CheckpointError, UserError
from core.config import from_dict, validate
from core.quality.evaluator import Evaluator
from core.training.checkpoint import load_checkpoint
from core.training.models import latent
from core.training.trainer import Trainer
from core.training.views import to_uint8_images


def restore_trainer(checkpoint: str, device: str):
    """A Trainer holding a checkpoint's weights, and its config."""
    state = load_checkpoint(checkpoint)
    cfg = validate(from_dict(state["config"]))
    trainer = Trainer(cfg, device)
    trainer.load_state_dict(state)
    return trainer, cfg


def cmd_sample(args) -> int:
    if args.n < 1:
        raise UserError(f"--n must be at least 1, got {args.n}")
    if not args.out.endswith(".npy"):
        raise UserError(f"--out must name a .npy file, got {args.out}")
    trainer, cfg = restore_trainer(args.checkpoint, args.device)
    g = torch.Generator(trainer.device).manual_seed(args.seed)
    chunks = []
    for z in latent(cfg.model, args.n, g, trainer.device, balanced=True).split(4096):
        out = trainer.generate(z)
        chunks.append(out.float().cpu().numpy() if cfg.is_2d else to_uint8_images(out))
    array = np.concatenate(chunks).astype(np.float32 if cfg.is_2d else np.uint8)
    try:
        np.save(args.out, array)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out}: {array.dtype} {array.shape}", file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    trainer, cfg = restore_trainer(args.checkpoint, args.device)
    if args.n is not None and not 10 <= args.n <= 50_000:
        raise UserError(f"--n must be from 10 to 50000, got {args.n}")
    if args.inception:
        cfg.eval.inception = args.inception
    evaluator = Evaluator(cfg, trainer.data, trainer.device, args.n, log=lambda text: print(text, file=sys.stderr),
                          seed=args.seed)
    result = evaluator(trainer.sampler, trainer.step)
    print(json.dumps({"checkpoint": str(args.checkpoint), "preset": cfg.preset, "n": evaluator.n, **result}))
    return 0


def cmd_checkpoint(args) -> int:
    """Exit 0 if the checkpoint loads (with --describe, its step and config as one JSON line); else one line on
    stderr and exit 2. The window asks this of a file in a short-lived process (core.storage.checkpoint_probe)."""
    try:
        state = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.describe:
        print(json.dumps({"step": int(state["step"]), "config": state["config"]}))
    else:
        print(f"step {state['step']}, preset {state['config'].get('preset', '?')}")
    return 0
