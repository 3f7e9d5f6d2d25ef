"""`hinge-train losses RUN_DIR [--step N] --out FIG.png`: the loss lab's figure for a run directory, from its
histograms.jsonl line nearest step N (the last one by default), with the margins and loss in force then."""
from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from core.analysis.loss_figure import loss_figure
from core.analysis.losslab import Scores
from core.base.errors import UserError
from core.base.files import read_jsonl
from core.storage.layout import RunLayout, is_run_dir
from core.storage.metrics_csv import read_rows, settings_from_row


def scores_near(run_dir: Path, step: int | None) -> Scores:
    records = read_jsonl(RunLayout(run_dir).histograms)
    if not records:
        raise UserError(f"{run_dir} has no histograms.jsonl lines (is it a run directory that has trained?)")
    record = records[-1] if step is None else min(records, key=lambda r: abs(int(r["step"]) - step))
    return Scores.from_record(record)


def settings_at(run_dir: Path, step: int):
    """The settings the row of `step` was trained with (the last row before it, where it has none)."""
    rows = read_rows(RunLayout(run_dir).metrics) or []
    earlier = [row for row in rows if int(row["step"]) <= max(step, 1)]
    if not earlier:
        raise UserError(f"{run_dir}/metrics.csv has no row at or before step {step}")
    return settings_from_row(earlier[-1])


def cmd_losses(args) -> int:
    run_dir = Path(args.run_dir)
    if not is_run_dir(run_dir):
        raise UserError(f"{run_dir} is not a run directory (no config.json)")
    if not args.out.lower().endswith(".png"):
        raise UserError(f"--out must name a .png file, got {args.out}")
    scores = scores_near(run_dir, args.step)
    s = settings_at(run_dir, scores.step)
    try:
        Image.fromarray(loss_figure(scores, (s.margin_real, s.margin_fake), s.loss)).save(args.out)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out}: the loss lab at step {scores.step:,} ({s.loss} in force, margins "
          f"+{s.margin_real:g} / -{s.margin_fake:g})", file=sys.stderr)
    return 0
