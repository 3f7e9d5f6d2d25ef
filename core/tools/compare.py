"""`hinge-train compare`: the same presets trained with hinge, non-saturating BCE and Wasserstein losses
(spectral norm on for all) for the same budget, then scored with the same metrics."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from core import config as config_mod
from core.base.errors import UserError
from core.protocol import commands as C
from core.storage.layout import default_run_dir
from core.quality.evaluator import Evaluator
from core.tools.runs import make_session

COLUMNS_2D = (("modes_covered", "modes", "{:d}"), ("high_quality_rate", "high quality", "{:.1%}"),
              ("reverse_kl", "reverse KL", "{:.3f}"))
COLUMNS_IMAGES = (("fid", "FID", "{:.2f}"), ("kid", "KID", "{:.4f}"), ("precision", "precision", "{:.2f}"),
                  ("recall", "recall", "{:.2f}"), ("fid_cnn", "FID (CNN features)", "{:.2f}"),
                  ("kid_cnn", "KID (CNN features)", "{:.4f}"), ("precision_cnn", "precision (CNN features)", "{:.2f}"),
                  ("recall_cnn", "recall (CNN features)", "{:.2f}"), ("classes_present", "classes", "{:d}"),
                  ("class_kl", "class KL", "{:.3f}"))


def train_one(cfg, run_dir: Path, steps: int, seconds: float | None, device: str) -> dict:
    """Train cfg headless for `steps` steps or `seconds` of wall time, whichever ends first; score it."""
    session = make_session(cfg, None, run_dir, device, max_steps=steps)
    deadline = time.monotonic() + seconds if seconds else float("inf")
    started = time.monotonic()
    final = session.run(lambda timeout: C.Stop() if time.monotonic() >= deadline else None)
    trained_s = time.monotonic() - started
    trainer = session.trainer
    result = Evaluator(cfg, trainer.data, trainer.device)(trainer.sampler, trainer.step)
    return {"preset": cfg.preset, "loss": cfg.loss.kind, "steps": trainer.step, "seconds": round(trained_s, 1),
            "final_state": final, **result}


def table(rows: list[dict]) -> str:
    """A Markdown table per preset."""
    lines = []
    for preset in dict.fromkeys(r["preset"] for r in rows):
        group = [r for r in rows if r["preset"] == preset]
        columns = COLUMNS_2D if "modes_covered" in group[0] else COLUMNS_IMAGES
        columns = [c for c in columns if any(c[0] in r for r in group)]
        lines.append(f"| {preset} | steps | seconds | " + " | ".join(label for _, label, _ in columns) + " |")
        lines.append("|---" * (len(columns) + 3) + "|")
        for r in group:
            cells = [fmt.format(r[key]) if r.get(key) is not None else "–" for key, _, fmt in columns]
            note = "" if r["final_state"] in ("done", "stopped") else f" ({r['final_state']})"
            lines.append(f"| {r['loss']}{note} | {r['steps']} | {r['seconds']:.0f} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def compare(presets: list[str], losses: list[str], steps: int | None, minutes: float | None, seed: int,
            overrides: list[str], out: Path, device: str) -> list[dict]:
    for loss in losses:
        if loss not in config_mod.LOSS_KINDS:
            raise UserError(f"unknown loss {loss!r}; choose from {', '.join(config_mod.LOSS_KINDS)}")
    configs = []
    for preset in presets:
        for loss in losses:
            cfg = config_mod.resolve(preset, overrides=[f"loss.kind={loss}", "model.spectral_norm=true",
                                                        f"train.seed={seed}", *overrides])
            configs.append(cfg)  # all resolved first: a typo fails before hours of training
    rows = []
    for cfg in configs:
        run_steps = steps or cfg.train.steps
        print(f"compare: {cfg.preset} with {cfg.loss.kind} loss, {run_steps} steps"
              + (f" or {minutes:g} min" if minutes else ""), file=sys.stderr, flush=True)
        rows.append(train_one(cfg, out / f"{cfg.preset}-{cfg.loss.kind}", run_steps,
                              60 * minutes if minutes else None, device))
    return rows


def cmd_compare(args) -> int:
    if args.steps is not None and args.steps < 1:
        raise UserError(f"--steps must be at least 1, got {args.steps}")
    if args.minutes is not None and not args.minutes > 0:
        raise UserError(f"--minutes must be positive, got {args.minutes}")
    out = Path(args.out) if args.out else default_run_dir("compare")
    rows = compare([p for p in args.presets.split(",") if p], [x for x in args.losses.split(",") if x],
                   args.steps, args.minutes, args.seed, args.set, out, args.device)
    print(table(rows))
    print(json.dumps([{k: v for k, v in r.items() if not isinstance(v, list)} for r in rows]))
    return 0
