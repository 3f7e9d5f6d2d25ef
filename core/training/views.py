"""Views of a run for people: sample grids, generated and real points with D's score field behind them.

Probes only: they run G and D in eval mode and draw from the trainer's view generator, never from the
training RNGs, so looking at a run never changes it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.protocol import commands as C
from core.base.errors import UserError
from core.pictures import image_grid, points_figure, write_samples
from core.training.models import eval_mode, latent
from core.protocol.telemetry import Samples

FIELD_RESOLUTION = 64
N_POINTS_SHOWN = 1000


def to_uint8_images(x: torch.Tensor) -> np.ndarray:
    """Generator output in [-1, 1], (N, C, H, W) -> uint8 (N, H, W, C) in 0..255."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def score(trainer, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """D(x) (a class-conditional D's: of x as `labels`) in eval mode (no power iteration, no BatchNorm update)."""
    with eval_mode(trainer.D):
        return trainer.D(x.to(trainer.device), labels)


def sample_view(trainer, fresh: bool = False) -> Samples:
    """What G makes now: for images a grid of the fixed z (or a fresh one); for 2D data generated and real
    points with D's score field behind them."""
    if trainer.data.kind == "images":
        z = trainer.fixed_z
        if fresh:
            z = latent(trainer.cfg.model, len(z), trainer.view_generator, trainer.device, balanced=True)
        images = to_uint8_images(trainer.generate(z))
        grid = image_grid(images, cols=trainer.cfg.model.classes)  # a class-conditional G's: a row per cycle
        return Samples(trainer.step, grid=grid, cell=images.shape[1], fresh=fresh, count=len(images))
    extent = trainer.data.bounds()
    axis = torch.linspace(-extent, extent, FIELD_RESOLUTION, device=trainer.device)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    field = score(trainer, torch.stack([xx.flatten(), yy.flatten()], 1)).view(FIELD_RESOLUTION, FIELD_RESOLUTION)
    real = trainer.data.sample(N_POINTS_SHOWN, trainer.view_generator)
    z = latent(trainer.cfg.model, N_POINTS_SHOWN, trainer.view_generator, trainer.device)
    return Samples(trainer.step, fake_points=trainer.generate(z).cpu().numpy(), real_points=real.cpu().numpy(),
                   score_field=field.cpu().numpy(), extent=extent, centers=trainer.data.centers.cpu().numpy())


def real_grid(trainer) -> np.ndarray:
    """Real images as D receives them (fit to the model's size and channels, scaled to [-1, 1] and back), as many
    and laid out as the fixed-z grid: a class-conditional run's a class a column. No RNG is drawn."""
    bank, count, classes = trainer.data, len(trainer.fixed_z), trainer.cfg.model.classes
    if not classes:
        return image_grid(to_uint8_images(bank.probe_set(count, held=False)[0]))
    members = [torch.nonzero(bank.labels == k).flatten() for k in range(classes)]
    idx = torch.stack([members[j % classes][(j // classes) % len(members[j % classes])] for j in range(count)
                       if len(members[j % classes])])
    return image_grid(to_uint8_images(bank.scaled(idx.to(bank.images.device))), cols=classes)


def picture(trainer, view: Samples, size: int = 360) -> np.ndarray:
    """A view as one RGB picture: the grid, or the points over D's score field with axes and margins."""
    if view.grid is not None:
        return view.grid
    return points_figure_of(trainer, view.fake_points, view, size)


def points_figure_of(trainer, fake: np.ndarray, view: Samples, size: int) -> np.ndarray:
    s = trainer.settings
    return points_figure(fake, view.real_points, view.extent, view.centers, view.score_field, view.step,
                         (s.margin_real, s.margin_fake), size)


def export_samples(trainer, command: C.ExportSamples) -> Path:
    """n samples (the run's fixed z first, or fresh ones) to command.path, with {step} filled in now."""
    if not (isinstance(command.n, int) and 1 <= command.n <= 100_000):
        raise UserError(f"number of samples must be 1..100000, got {command.n!r}")
    fixed = trainer.fixed_z[: command.n] if not command.fresh else trainer.fixed_z[:0]
    extra = command.n - len(fixed)
    z = torch.cat([fixed, latent(trainer.cfg.model, extra, trainer.view_generator, trainer.device, balanced=True)])
    out = trainer.generate(z)
    path = str(command.path).replace("{step}", str(trainer.step))  # named when written, not when asked
    if trainer.data.kind != "points":
        return write_samples(to_uint8_images(out), path, cols=trainer.cfg.model.classes)
    points = out.float().cpu().numpy()
    figure = None if path.endswith(".npy") else points_figure_of(trainer, points, sample_view(trainer), 560)
    return write_samples(points, path, figure)
