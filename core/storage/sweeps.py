"""A sweep folder: what the sweep is (DIR/sweep.json: its arms, every combination of the grid's values, and
its seeds), its runs (DIR/runs/ARM-seed-S/, each a real run directory with its sweep-result.json once done or
failed), and its summary: the arms ranked by the judge's score, failed runs counted against them. Read by
`hinge-train sweep` (core/tools/sweep.py) and by the window; no torch."""
from __future__ import annotations

import copy
import csv
import itertools
import json
import re
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.base.errors import UserError
from core.base.files import read_json, write_atomically
from core.config import from_dict, resolve, unused_settings
from core.storage.checkpoint_probe import describe_checkpoint
from core.storage.layout import RunLayout, SweepLayout
from core.config.resume import resume_changes

JUDGES = {"images": "fid_cnn", "points": "high_quality_rate"}  # the judge's score by kind of data, unless --metric
HIGHER_IS_BETTER = ("high_quality_rate", "modes_covered", "confident_share", "classes_present", "asked_class_share",
                    "precision", "recall", "precision_cnn", "recall_cnn", "diversity", "diversity_cnn")
FAILURES = ("diverging", "g_collapse", "not_covering")  # alerts that stop a run and fail it


@dataclass
class Sweep:
    preset: str
    overrides: list[str]
    grid: dict[str, list[str]]  # key -> the values its arms take, as typed
    seeds: list[int]
    steps: int
    minutes: float | None = None
    start_from: str | None = None  # a checkpoint every run forks from
    device: str = "auto"
    metric: str = ""
    lower_is_better: bool = True
    arms: list[dict] = field(default_factory=list)  # [{key: value}], every combination of the grid

    @classmethod
    def plan(cls, args) -> "Sweep":
        grid = {}
        for item in args.grid:
            key, sep, values = item.partition("=")
            if not sep or not values:
                raise UserError(f"--grid expects KEY=V1,V2,..., got {item!r}")
            grid[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
        if args.seeds < 1:
            raise UserError(f"--seeds must be at least 1, got {args.seeds}")
        if args.start_from and args.seeds > 1:
            raise UserError("a fork goes on with its parent's random state: with --from, --seeds must be 1")
        saved = from_dict(describe_checkpoint(args.start_from)["config"]) if args.start_from else None
        if saved is None and not args.preset:
            raise UserError("a sweep needs --preset (or --from CKPT)")

        def settled(extra):  # a typo or a value a fork cannot change fails here, before hours of training
            cfg = resolve(args.preset, overrides=[*args.set, *extra], base=copy.deepcopy(saved))
            if saved is not None:
                resume_changes(saved, cfg)
            return cfg

        base = settled([])
        arms = [{k: v for key, value in zip(grid, values) for k, v in paired(key, value).items()}
                for values in itertools.product(*grid.values())] or [{}]
        trained: dict[str, dict] = {}  # what an arm trains -> the first arm that trains it
        for arm in arms:
            what, unused = trains(settled([f"{k}={v}" for k, v in arm.items()]))
            if what in trained:
                why = "".join(f"; {key}: {reason}" for key, reason in unused.items() if key in arm)
                raise UserError(f"the arms {arm_name(trained[what])} and {arm_name(arm)} would train the same{why}")
            trained[what] = arm
        metric = args.metric or JUDGES["points" if base.is_2d else "images"]
        return cls(base.preset, list(args.set), grid, list(range(base.train.seed, base.train.seed + args.seeds)),
                   args.steps or base.train.steps, args.minutes, args.start_from, args.device, metric,
                   metric not in HIGHER_IS_BETTER, arms)

    def runs(self, out: Path) -> list["Run"]:
        return [Run(SweepLayout(out).run(f"{arm_name(arm)}-seed-{seed}"), index, seed)
                for index, arm in enumerate(self.arms) for seed in self.seeds]

    def overrides_of(self, run: "Run") -> list[str]:
        seed = [] if self.start_from else [f"train.seed={run.seed}"]  # a fork keeps its parent's random state
        return [*self.overrides, *(f"{k}={v}" for k, v in self.arms[run.arm].items()), *seed]


@dataclass
class Run:
    path: Path
    arm: int
    seed: int

    @property
    def result(self) -> dict | None:
        return read_json(RunLayout(self.path).sweep_result)


def trains(cfg) -> tuple[str, dict]:
    """What a config trains, as text (the settings it ignores left out), and those settings with why."""
    unused = unused_settings(cfg.loss.kind)
    settings = cfg.to_dict()
    for key in unused:
        section, name = key.split(".")
        settings[section].pop(name)
    return json.dumps(settings, sort_keys=True), unused


def paired(key: str, value: str) -> dict[str, str]:
    """A grid entry's settings: `KEY=V` as it is, or keys that move together, `K1,K2=A/B` (K1=A, K2=B)."""
    keys = [k.strip() for k in key.split(",")]
    values = value.split("/") if len(keys) > 1 else [value]
    if len(values) != len(keys):
        raise UserError(f"--grid {key}=...: {value!r} needs {len(keys)} values joined by '/', one per key")
    return dict(zip(keys, (v.strip() for v in values)))


def arm_name(arm: dict) -> str:
    if not arm:
        return "as-set"
    return "_".join(f"{key.split('.')[-1]}-{re.sub(r'[^0-9A-Za-z.+-]', '', value)}" for key, value in arm.items())


def open_sweep(out: Path, planned: Sweep | None = None) -> Sweep:
    """The sweep in `out`: planned now (sweep.json written), or as sweep.json says (a worker's, or a restart's,
    which must be the same sweep)."""
    path = SweepLayout(out).description
    held = read_json(path)
    if planned is None:
        if held is None:
            raise UserError(f"{out} holds no sweep (no sweep.json)")
        return Sweep(**held)
    if held is not None and held != json.loads(json.dumps(asdict(planned))):
        raise UserError(f"{out} holds another sweep (its sweep.json differs); continue it with the same arguments, "
                        "or give another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(asdict(planned), indent=2) + "\n", durable=True)
    return planned


def summary(sweep: Sweep, out: Path) -> list[dict]:
    """One row per arm: its settings, the seeds' scores, their mean and std, and how many runs failed; ranked
    by fewest failures, then by the mean score."""
    rows = []
    for index, arm in enumerate(sweep.arms):
        results = [run.result for run in sweep.runs(out) if run.arm == index]
        scores = [r["score"] for r in results if r and r["state"] == "done" and r.get("score") is not None]
        rows.append({"arm": arm_name(arm), "settings": arm, "seeds": sweep.seeds,
                     "scores": [r.get("score") if r else None for r in results],
                     "mean": statistics.fmean(scores) if scores else None,
                     "std": statistics.stdev(scores) if len(scores) > 1 else 0.0 if scores else None,
                     "failed": sum(1 for r in results if r and r["state"] == "failed"),
                     "pending": sum(1 for r in results if not r)})
    worst = float("inf")
    sign = 1 if sweep.lower_is_better else -1
    return sorted(rows, key=lambda r: (r["failed"], r["pending"], sign * r["mean"] if r["mean"] is not None else worst))


def table(sweep: Sweep, rows: list[dict]) -> str:
    better = "lower" if sweep.lower_is_better else "higher"
    lines = [f"| rank | arm | {sweep.metric} ({better} is better), mean ± std | seeds | failed |", "|---|---|---|---|---|"]
    for rank, r in enumerate(rows, 1):
        score = "–" if r["mean"] is None else f"{r['mean']:.4g} ± {r['std']:.2g}"
        lines.append(f"| {rank} | {r['arm']} | {score} | {len(r['seeds'])} | {r['failed']} |")
    return "\n".join(lines)


def write_csv(rows: list[dict], path: Path) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["rank", "arm", "settings", "mean", "std", "failed", "pending", "scores"])
        for rank, r in enumerate(rows, 1):
            writer.writerow([rank, r["arm"], json.dumps(r["settings"]), r["mean"], r["std"], r["failed"],
                             r["pending"], json.dumps(r["scores"])])
    return path
