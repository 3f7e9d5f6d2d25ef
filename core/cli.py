"""`hinge-train`: train, sample, score, compare and benchmark from the command line. This file is the
command line itself, every subcommand and option; each subcommand's work is in its module of core.tools,
imported when it runs (so `hinge-train presets` needs no torch)."""
from __future__ import annotations

import argparse
import importlib
import sys

from core.base.errors import UserError
from core.config import preset_description, preset_names
from core.run_args import add_run_arguments

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
    evaluate.add_argument("--inception", metavar="WEIGHTS", help="the FID Inception weights file "
                          "(pt_inception-2015-12-05-6726825d.pth): fid, kid, precision, recall as papers compute them")
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

    sweep = sub.add_parser("sweep", help="many runs from one description: every combination of --grid values, each "
                                         "seed, ranked by the judge's score with failed runs counted against an arm")
    sweep.add_argument("--preset", help="the preset every run starts from")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="applied to every run")
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="a setting and the values its arms take (repeatable: every combination is an arm); "
                            "K1,K2=A/B,C/D moves two settings together")
    sweep.add_argument("--seeds", type=int, default=1, help="runs per arm, seeds S, S+1, ... (S: train.seed)")
    budget = sweep.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="steps per run (default: the preset's train.steps)")
    budget.add_argument("--minutes", type=float, help="wall-clock minutes per run")
    sweep.add_argument("--from", dest="start_from", metavar="CKPT", help="fork every run from this checkpoint")
    sweep.add_argument("--parallel", type=int, default=1, metavar="K", help="runs at a time, the cores shared out")
    sweep.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    sweep.add_argument("--metric", help="the quality key to rank by (default: fid_cnn for images, high_quality_rate "
                                        "for 2D)")
    sweep.add_argument("--out", metavar="DIR", help="the sweep's folder: sweep.json, summary.csv, runs/")
    sweep.add_argument("--worker", metavar="DIR", help="help with the sweep in DIR: claim its runs one by one "
                                                       "(any number of workers, on any machine that sees DIR)")

    losses = sub.add_parser("losses", help="the loss lab's figure of a run: hinge, BCE and Wasserstein on its D "
                                           "scores, with who gets gradient")
    losses.add_argument("run_dir", metavar="RUN_DIR")
    losses.add_argument("--step", type=int, help="the histograms nearest this step (default: the last)")
    losses.add_argument("--out", required=True, help="FIG.png")

    checkpoint = sub.add_parser("checkpoint", help="whether a checkpoint loads (exit 0, or one line and exit 2)")
    checkpoint.add_argument("checkpoint", metavar="CKPT")
    checkpoint.add_argument("--describe", action="store_true", help="print its step and config as one JSON line")

    watch = sub.add_parser("watch", help="a run from the terminal, local or on another machine over ssh: one line a "
                                         "second (step, steps/s, losses, the share inside each margin, health)")
    watch.add_argument("target", metavar="RUN_DIR | [user@]host:RUN_DIR")
    watch.add_argument("--json", action="store_true", help="one JSON object a line")
    watch.add_argument("--seconds", type=float, help="stop after this long (default: when the run ends)")
    steer = sub.add_parser("steer", help="deliver one command to a run, local or remote, and say whether it applied")
    steer.add_argument("target", metavar="RUN_DIR | [user@]host:RUN_DIR")
    steer.add_argument("command_json", metavar="COMMAND_JSON", help='a commands.jsonl line, e.g. \'{"kind": "pause"}\'')
    steer.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the run's answer")
    for remote in (watch, steer):
        remote.add_argument("--ssh", default="ssh", help="the ssh command line, e.g. 'ssh -p 2222 -i KEY'")
        remote.add_argument("--remote-hinge-train", default="hinge-train", metavar="PATH",
                            help="hinge-train on the remote machine, where a non-interactive shell's PATH lacks it")

    serve = sub.add_parser("serve", help="the far end of a remote channel (run over ssh by the window, watch and "
                                         "steer on another machine): the run's telemetry on stdout, commands on stdin")
    serve.add_argument("run_dir", metavar="RUN_DIR")
    serve.add_argument("--after-step", type=int, default=-1, help=argparse.SUPPRESS)
    serve.add_argument("--after-time", type=float, default=0.0, help=argparse.SUPPRESS)

    sub.add_parser("presets", help="list the shipped presets")
    return parser


def cmd_presets(args) -> int:
    for name in preset_names():
        print(f"{name:10s} {preset_description(name)}")
    return 0


HANDLERS = {"train": "core.tools.train:cmd_train", "sample": "core.tools.sample_eval:cmd_sample",
            "eval": "core.tools.sample_eval:cmd_eval", "compare": "core.tools.compare:cmd_compare",
            "bench": "core.tools.bench:cmd_bench", "export-tb": "core.tools.export_tb:cmd_export_tb",
            "losses": "core.tools.lab_figure:cmd_losses", "sweep": "core.tools.sweep:cmd_sweep",
            "checkpoint": "core.tools.sample_eval:cmd_checkpoint", "serve": "core.tools.serve:cmd_serve",
            "watch": "core.tools.watch:cmd_watch", "steer": "core.tools.watch:cmd_steer"}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        if args.command == "presets":
            return cmd_presets(args)
        module, name = HANDLERS[args.command].split(":")
        return getattr(importlib.import_module(module), name)(args)
    except UserError as exc:
        print(f"hinge-train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
