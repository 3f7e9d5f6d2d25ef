"""TensorBoard event files: the one writer of both the live publisher (log.tensorboard) and `hinge-train
export-tb`. Each run writes in its own folder (RUN/tensorboard, or log.tensorboard_dir/RUN_NAME), so a fork's
and a sweep's runs show side by side under `tensorboard --logdir` of their common folder."""
from __future__ import annotations

import json
from pathlib import Path

from core.trackers.about import RunAbout
from core.trackers.batch import Batch


class TensorBoardTracker:
    name = "tensorboard"

    def __init__(self, folder: str | Path):
        from torch.utils.tensorboard import SummaryWriter

        self.folder = Path(folder)
        self.writer = SummaryWriter(str(self.folder))

    @classmethod
    def for_run(cls, about: RunAbout) -> "TensorBoardTracker":
        log = about.config.get("log", {})
        root = log.get("tensorboard_dir")
        return cls(Path(root).expanduser() / about.name if root else about.run_dir / "tensorboard")

    def start(self, about: RunAbout) -> None:
        """The settings as hyperparameters (TensorBoard's HParams tab) and as text, and where the run came from."""
        from torch.utils.tensorboard.summary import hparams

        shown = {k: v if isinstance(v, (int, float, str, bool)) else json.dumps(v)
                 for k, v in about.flat_settings().items()}
        for summary in hparams(shown, {"quality/fid": float("nan")}):
            self.writer.file_writer.add_summary(summary)
        self.writer.add_text("config", f"```\n{json.dumps(about.config, indent=1)}\n```", 0)
        if about.parent_dir is not None:
            self.writer.add_text("parent", f"forked from {about.parent_dir} at step {about.parent_step}", 0)

    def write(self, batch: Batch) -> None:
        w = self.writer
        for step, wall, values in batch.scalars:
            for tag, value in values.items():
                w.add_scalar(tag, value, step, walltime=wall)
        for step, tag, text in batch.texts:
            w.add_text(tag, text, step)
        for step, tag, image in batch.images:
            w.add_image(tag, image, step, dataformats="HWC")
        for step, tag, edges, counts in batch.histograms:
            centers = (edges[:-1] + edges[1:]) / 2
            w.add_histogram_raw(tag, min=float(edges[0]), max=float(edges[-1]), num=int(counts.sum()),
                                sum=float((counts * centers).sum()), sum_squares=float((counts * centers ** 2).sum()),
                                bucket_limits=edges[1:].tolist(), bucket_counts=counts.tolist(), global_step=step)
        w.flush()

    def finish(self, checkpoint: Path | None) -> None:
        if checkpoint is not None:
            self.writer.add_text("checkpoint", str(checkpoint))
        self.writer.close()
