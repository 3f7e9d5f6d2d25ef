"""`hinge-train export-tb RUN_DIR`: the run directory as TensorBoard event files, for the ecosystem's
viewer: every metrics.csv column and quality score as scalars, the D-score histograms, the timelapse
frames as images, and margin, spectral-norm and other events as text. Needs the optional extra
`pip install '.[tensorboard]'`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from core.base.errors import UserError
from core.base.files import read_jsonl
from core.storage.layout import RunLayout, is_run_dir
from core.storage.metrics_csv import SETTING_COLUMNS, TEXT_COLUMNS, read_rows
from core.storage.rundir import step_files


def export_tb(run_dir: str | Path, out: str | Path | None = None) -> tuple[Path, dict]:
    """Write the event files; (their folder, how many of each kind were written)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UserError("export-tb needs TensorBoard: pip install 'hinge-workbench[tensorboard]' "
                        "(or pip install tensorboard)") from None
    run_dir, layout = Path(run_dir), RunLayout(run_dir)
    if not is_run_dir(run_dir):
        raise UserError(f"{run_dir} is not a run directory (no config.json)")
    out = Path(out) if out else layout.tensorboard
    counts = {"scalars": 0, "histograms": 0, "images": 0, "texts": 0}
    writer = SummaryWriter(str(out))
    try:
        for row in read_rows(layout.metrics):
            step, wall = int(row["step"]), float(row["wall_time"])
            for name, value in row.items():
                if name in ("step", "wall_time", *TEXT_COLUMNS) or value in (None, ""):  # changes are text events
                    continue
                group = "settings" if name in SETTING_COLUMNS else "train"
                writer.add_scalar(f"{group}/{name}", float(value), step, walltime=wall)
                counts["scalars"] += 1
        for result in read_jsonl(layout.quality):
            for name, value in result.items():
                if name not in ("step", "eval_seconds") and isinstance(value, (int, float)) and not isinstance(value, bool):
                    writer.add_scalar(f"quality/{name}", value, result["step"])
                    counts["scalars"] += 1
        for record in read_jsonl(layout.histograms):
            edges = np.asarray(record["edges"], np.float64)
            for side in ("real", "fake"):
                values = np.asarray(record[side], np.float64)
                if values.sum() > 0:
                    centers = (edges[:-1] + edges[1:]) / 2
                    writer.add_histogram_raw(
                        f"D_scores/{side}", min=float(edges[0]), max=float(edges[-1]), num=int(values.sum()),
                        sum=float((values * centers).sum()), sum_squares=float((values * centers ** 2).sum()),
                        bucket_limits=edges[1:].tolist(), bucket_counts=values.tolist(), global_step=record["step"])
                    counts["histograms"] += 1
        for event in read_jsonl(layout.events):
            details = {k: v for k, v in event.items() if k not in ("step", "wall_time", "kind")}
            writer.add_text(f"events/{event.get('kind', 'event')}", f"`{json.dumps(details)}`", event.get("step", 0))
            counts["texts"] += 1
        for step, frame in step_files(layout.timelapse, ".png").items():
            with Image.open(frame) as image:
                array = np.asarray(image.convert("RGB"))
            writer.add_image("samples", array, step, dataformats="HWC")
            counts["images"] += 1
    finally:
        writer.close()
    return out, counts


def cmd_export_tb(args) -> int:
    out, counts = export_tb(args.run_dir, args.out)
    print(f"wrote {out}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
          + f"; view with: tensorboard --logdir {out}", file=sys.stderr)
    return 0
