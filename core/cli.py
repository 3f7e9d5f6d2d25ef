"""`hinge-train`: train, sample and list presets from the command line."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core import config as config_mod
from core.describe import describe_event
from core.errors import UserError
from core.runs import add_run_arguments, make_session, prepare
from core.states import EventKind, RunState
from core.threads import run_as_batch_work


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hinge-train", description="Train GANs with the hinge loss, headless.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a GAN and write a run directory")
    add_run_arguments(train)
    train.add_argument("--steps", type=int, help="training steps to run now (default: the config's train.steps)")
    train.add_argument("--seed", type=int, help="random seed (same as --set train.seed=S)")
    train.add_argument("--events", help="an events.jsonl whose commands are replayed at their steps")
    train.add_argument("--nproc", type=int, default=1, metavar="N",
                       help="train in N processes on this machine (torch.distributed: gloo on the CPU, NCCL on "
                            "CUDA), as torchrun --nproc-per-node N -m core.cli train would; same results")

    sample = sub.add_parser("sample", help="draw samples from a checkpoint's generator into a .npy file")
    sample.add_argument("--checkpoint", required=True)
    sample.add_argument("--n", type=int, required=True)
    sample.add_argument("--out", required=True, help="FILE.npy: float32 (N, 2) for 2D, uint8 (N, H, W, C) images "
                                                     "(a class-conditional G's cycle through the classes 0, 1, ...)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))

    evaluate = sub.add_parser("eval", help="score a checkpoint's generator: FID, KID, precision/recall, "
                                            "class coverage; PacGAN's mode metrics for 2D data")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--n", type=int, help="samples to score (default: the config's eval.n, 2000)")
    evaluate.add_argument("--inception", metavar="WEIGHTS", help="a local torchvision Inception-v3 weights file "
                                                               "for FID features (default: the dataset classifier)")
    evaluate.add_argument("--seed", type=int, default=1234, help="seed of the generated samples' z")
    evaluate.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))

    compare = sub.add_parser("compare", help="hinge vs non-saturating BCE vs Wasserstein (spectral norm on), "
                                              "same budget, same metrics")
    compare.add_argument("--presets", default="ring8,digits", help="comma-separated presets (default: ring8,digits)")
    compare.add_argument("--losses", default="hinge,bce,wasserstein")
    compare.add_argument("--steps", type=int, help="steps per run (default: each preset's train.steps)")
    compare.add_argument("--minutes", type=float, help="wall-time budget per run; a run ends at whichever comes first")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="applied to every run")
    compare.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    compare.add_argument("--out", help="parent of the run directories (default: runs/compare-TIMESTAMP)")

    bench = sub.add_parser("bench", help="the engine's steps/s against a textbook loop, side by side")
    bench.add_argument("--preset", default="digits")
    bench.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    bench.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    bench.add_argument("--rounds", type=int, default=5)
    bench.add_argument("--steps-per-round", type=int, help="default: about one second's worth")

    tb = sub.add_parser("export-tb", help="write a run directory as TensorBoard event files "
                                          "(needs pip install '.[tensorboard]')")
    tb.add_argument("run_dir", metavar="RUN_DIR")
    tb.add_argument("--out", help="folder for the event files (default: RUN_DIR/tensorboard)")

    sub.add_parser("presets", help="list the shipped presets")
    return parser


SHOWN_EVENTS = (EventKind.REJECTED, EventKind.DIVERGED, EventKind.ERROR, EventKind.ALERT, EventKind.ALERT_CLEARED,
                "rewind", EventKind.RANKS_COMPARED)


class Progress:
    """A progress bar with steps/s and ETA on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, start: int, total: int, stream=sys.stderr):
        self.start, self.total, self.stream = start, total, stream
        self.tty = stream.isatty()
        self.last_line = 0.0
        self.d_loss_text = "--"  # until the first step is published

    def __call__(self, t) -> None:
        done = t.step - self.start
        eta = (self.total - done) / t.steps_per_s if t.steps_per_s > 0 else float("nan")
        eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if np.isfinite(eta) else "--:--:--"
        if len(t.steps):
            self.d_loss_text = f"{t.scalars['d_loss'][-1]:.3f}"
        text = (f"step {t.step} ({done}/{self.total}) {t.steps_per_s:7.1f} steps/s  ETA {eta_text}  "
                f"d_loss {self.d_loss_text}  {t.state}")
        if self.tty:
            width = 24
            filled = int(width * done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\033[K")
            self.stream.flush()
        elif time.monotonic() - self.last_line > 5 or t.state != RunState.RUNNING:
            self.last_line = time.monotonic()
            print(text, file=self.stream, flush=True)
        for event in t.events:
            if event["kind"] in SHOWN_EVENTS:
                line = describe_event(event)
                print(f"\n{line}" if self.tty else line, file=self.stream, flush=True)

    def close(self):
        if self.tty:
            self.stream.write("\n")


def cmd_train(args) -> int:
    from core import distributed

    if args.nproc < 1:
        raise UserError(f"--nproc must be at least 1, got {args.nproc}")
    if args.steps is not None and args.steps < 0:
        raise UserError(f"--steps must be >= 0, got {args.steps}")
    if args.nproc > 1 and not distributed.launched():
        from core.launch import launch_training

        return launch_training(args, args.argv)
    if not distributed.launched():
        return train(args, distributed.ONE_PROCESS, args.device)
    from core.engine import resolve_device

    world, device = distributed.join(resolve_device(args.device))
    status = train(args, world, device)
    distributed.leave(finished=status in (0, 3))
    return status


def train(args, world, device) -> int:
    """Train in this process: the whole run, or one rank's part of it (rank 0 writes the run directory)."""
    from core.distributed import broadcast
    from core.replica import follow
    from core.rundir import read_events
    from core.runs import make_trainer

    run_as_batch_work()
    cfg, state, run_dir = prepare(args)
    if world.distributed:
        run_dir = Path(broadcast(str(run_dir)))  # rank 0's (a default name holds the time it was made)
        if not world.is_main:
            return follow(make_trainer(cfg, state, device, world))
    replay = read_events(args.events) if args.events else []
    steps = args.steps if args.steps is not None else cfg.train.steps
    start = int(state["step"]) if state else 0
    progress = Progress(start, steps)
    session = make_session(cfg, state, run_dir, device, checkpoint=args.resume, world=world,
                           max_steps=start + steps, publish=progress, replay=replay)
    ranks = f" in {world.size} processes" if world.distributed else ""
    print(f"hinge-train: {cfg.preset} on {session.trainer.device}{ranks}, {session.trainer.data.describe()}; "
          f"run directory {run_dir}", file=sys.stderr)
    try:
        final = session.run()
    except KeyboardInterrupt:
        final = session.close()
        progress.close()
        print(f"interrupted at step {session.trainer.step}; saved {run_dir}/checkpoints/last.pt", file=sys.stderr)
        return 130
    progress.close()
    print(f"{final} at step {session.trainer.step}; checkpoint {run_dir}/checkpoints/last.pt", file=sys.stderr)
    return 0 if final == RunState.DONE else 3


def restore_trainer(checkpoint: str, device: str):
    """A Trainer holding a checkpoint's weights, and its config."""
    from core.checkpoint import load_checkpoint
    from core.engine import Trainer

    state = load_checkpoint(checkpoint)
    cfg = config_mod.validate(config_mod.from_dict(state["config"]))
    trainer = Trainer(cfg, device)
    trainer.load_state_dict(state)
    return trainer, cfg


def cmd_sample(args) -> int:
    import torch

    from core.export import to_uint8_images
    from core.models import latent

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
    from core.evaluate import Evaluator

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


def cmd_compare(args) -> int:
    from core.compare import compare, table

    if args.steps is not None and args.steps < 1:
        raise UserError(f"--steps must be at least 1, got {args.steps}")
    if args.minutes is not None and not args.minutes > 0:
        raise UserError(f"--minutes must be positive, got {args.minutes}")
    out = Path(args.out) if args.out else Path("runs") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
    rows = compare([p for p in args.presets.split(",") if p], [x for x in args.losses.split(",") if x],
                   args.steps, args.minutes, args.seed, args.set, out, args.device)
    print(table(rows))
    print(json.dumps([{k: v for k, v in r.items() if not isinstance(v, list)} for r in rows]))
    return 0


def cmd_bench(args) -> int:
    from core.bench import benchmark

    if args.rounds < 1:
        raise UserError(f"--rounds must be at least 1, got {args.rounds}")
    cfg = config_mod.resolve(args.preset, overrides=args.set)
    benchmark(cfg, args.device, args.rounds, args.steps_per_round)
    return 0


def cmd_export_tb(args) -> int:
    from core.export_tb import export_tb

    out, counts = export_tb(args.run_dir, args.out)
    print(f"wrote {out}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
          + f"; view with: tensorboard --logdir {out}", file=sys.stderr)
    return 0


def cmd_presets(args) -> int:
    for name in config_mod.preset_names():
        print(f"{name:10s} {config_mod.preset_description(name)}")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    handler = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "compare": cmd_compare, "bench": cmd_bench,
               "export-tb": cmd_export_tb, "presets": cmd_presets}[args.command]
    try:
        return handler(args)
    except UserError as exc:
        print(f"hinge-train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
