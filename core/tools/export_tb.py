"""`hinge-train export-tb RUN_DIR`: the run directory as TensorBoard event files, for the ecosystem's
viewer: every metrics.csv column and quality score as scalars, the D-score histograms, the timelapse
frames as images, and margin, spectral-norm and other events as text. Needs the optional extra
`pip install '.[tensorboard]'`."""
from __future__ import annotations

import sys
from pathlib import Path

from core.base.errors import UserError
from core.storage.layout import RunLayout, is_run_dir
from core.trackers.batch import from_run_dir
from core.trackers.to_tensorboard import TensorBoardTracker


def export_tb(run_dir: str | Path, out: str | Path | None = None) -> tuple[Path, dict]:
    """Write the event files, with the live publisher's writer (core/trackers/to_tensorboard.py); (their
    folder, how many of each kind were written)."""
    if not is_run_dir(run_dir):
        raise UserError(f"{run_dir} is not a run directory (no config.json)")
    try:
        tracker = TensorBoardTracker(Path(out) if out else RunLayout(run_dir).tensorboard)
    except ImportError:
        raise UserError("export-tb needs TensorBoard: pip install 'hinge-workbench[tensorboard]' "
                        "(or pip install tensorboard)") from None
    batch = from_run_dir(run_dir)
    try:
        tracker.write(batch)
    finally:
        tracker.finish(None)
    counts = {"scalars": sum(len(values) for _, _, values in batch.scalars), "histograms": len(batch.histograms),
              "images": len(batch.images), "texts": len(batch.texts)}
    return tracker.folder, counts


def cmd_export_tb(args) -> int:
    out, counts = export_tb(args.run_dir, args.out)
    print(f"wrote {out}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
          + f"; view with: tensorboard --logdir {out}", file=sys.stderr)
    return 0
