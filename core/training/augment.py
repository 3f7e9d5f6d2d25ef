"""Differentiable augmentation (Zhao et al. 2020, DiffAugment): the same random transform applied to
real and generated images before D, in both players' steps, so D cannot memorise a small dataset and
G still gets gradients through the transform."""
import torch
import torch.nn.functional as F


def translate(x: torch.Tensor, generator: torch.Generator, fraction: float = 0.125,
              batch: int | None = None, rows: slice = slice(None)) -> torch.Tensor:
    """Each image shifted by a whole number of pixels, up to `fraction` of its size each way; the border
    colour fills in. Whole pixels keep bilinear sampling exact. x may be some rows of a larger batch: the
    shifts are drawn for the whole batch and those rows' taken."""
    n, size = len(x), x.shape[-1]
    limit = int(size * fraction)
    pixels = torch.randint(-limit, limit + 1, (batch or n, 2), generator=generator, device=x.device)[rows]
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = pixels.to(x.dtype) * (2 / size)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)
