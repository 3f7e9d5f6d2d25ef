"""The health detectors measured both ways: failures provoked on purpose (how many steps each takes to be
named), and healthy runs of the shipped presets (how many alerts they raise: false alarms).

Not a test (pytest does not collect it). Run from the repository root on an idle machine:

    python tests/benchmarks/health_table.py provoke            # the README's provocation table
    python tests/benchmarks/health_table.py healthy --preset ring8 --seeds 11 12 13

A provocation trains a preset healthily, then at step AT applies commands (the same the window and
commands.jsonl send) that cause one failure, and reports the step its alert was raised, minus AT.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.config import resolve  # noqa: E402
from core.training.trainer import Trainer  # noqa: E402
from core.base.files import read_jsonl
from core.storage.rundir import RunDir  # noqa: E402
from core.session import Session  # noqa: E402

# (detector, preset, settings from the start, step AT, commands applied at AT, steps to train)
PROVOCATIONS = [
    ("d_overpowers", "ring8", [], 0, [{"kind": "set_learning_rates", "lr_g": 1e-7}], 2000),
    ("d_overpowers", "digits", ["model.spectral_norm=false"], 300,
     [{"kind": "set_learning_rates", "lr_g": 1e-7, "lr_d": 1e-3}], 1500),
    ("diverging", "ring8", [], 1000, [{"kind": "set_learning_rates", "lr_d": 0.05}], 2000),
    ("diverging", "digits", [], 300, [{"kind": "set_spectral_norm", "enabled": False},
                                      {"kind": "set_learning_rates", "lr_d": 0.01}], 1000),
    ("stalled", "ring8", [], 1000, [{"kind": "set_learning_rates", "lr_g": 1e-9, "lr_d": 1e-9}], 4000),
    ("stalled", "digits", [], 300, [{"kind": "set_learning_rates", "lr_g": 1e-9, "lr_d": 1e-9}], 2800),
    ("g_collapse", "ring8", ["eval.every=250"], 1000, [{"kind": "set_learning_rates", "lr_g": 0.02}], 2500),
    ("g_collapse", "digits", ["eval.every=250"], 1000, [{"kind": "set_learning_rates", "lr_g": 2e-3, "lr_d": 1e-9}],
     2500),
    ("not_covering", "ring8", ["train.batch_size=16", "optim.lr_g=3e-3", "optim.lr_d=3e-3", "train.g_ema=0"], 0, [],
     5000),
]


def train(preset: str, overrides: list[str], steps: int, replay=(), data_root=None) -> tuple[list[dict], float]:
    extra = [f"data.root={data_root}"] if data_root else []
    cfg = resolve(preset, overrides=[*overrides, *extra])
    run_dir = Path(tempfile.mkdtemp(prefix=f"health-{preset}-"))
    started = time.monotonic()
    Session(Trainer(cfg, "cpu"), RunDir(run_dir), max_steps=steps, replay=list(replay)).run()
    return read_jsonl(run_dir / "events.jsonl"), time.monotonic() - started


def provoke(args) -> None:
    print("| detector | preset | provocation | fired after | other alerts |")
    print("|---|---|---|---|---|")
    for name, preset, overrides, at, commands, steps in PROVOCATIONS:
        if args.preset and preset != args.preset:
            continue
        events, seconds = train(preset, overrides, steps, [{"step": at, **c} for c in commands], args.data_root)
        alerts = [e for e in events if e["kind"] == "alert"]
        mine = next((e for e in alerts if e["name"] == name and e["step"] > at), None)
        fired = f"{mine['step'] - at} steps" if mine else f"not within {steps - at} steps"
        others = ", ".join(f"{e['name']} at {e['step']}" for e in alerts if e is not mine) or "none"
        what = " + ".join(json.dumps({k: v for k, v in c.items()}) for c in commands)
        setup = f" (with {', '.join(overrides)})" if overrides else ""
        print(f"| {name} | {preset} | at step {at}: {what}{setup} | {fired} | {others} |", flush=True)
        print(f"  ({seconds:.0f} s)", file=sys.stderr, flush=True)


def healthy(args) -> None:
    for seed in args.seeds:
        overrides = [f"train.seed={seed}", *args.set]
        steps = args.steps or resolve(args.preset, overrides=overrides + (
            [f"data.root={args.data_root}"] if args.data_root else [])).train.steps
        events, seconds = train(args.preset, overrides, steps, data_root=args.data_root)
        alerts = [f"{e['name']} at {e['step']}" for e in events if e["kind"] == "alert"]
        print(json.dumps({"preset": args.preset, "seed": seed, "steps": steps, "seconds": round(seconds),
                          "alerts": alerts}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("provoke", "healthy"))
    parser.add_argument("--preset")
    parser.add_argument("--seeds", type=int, nargs="+", default=[11])
    parser.add_argument("--steps", type=int, help="healthy: default the preset's own budget")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--data-root", help="for the mnist preset: the folder of its idx files")
    args = parser.parse_args()
    provoke(args) if args.what == "provoke" else healthy(args)


if __name__ == "__main__":
    main()
