"""Differentiable augmentation (Zhao et al. 2020, DiffAugment): the same kind of random transform applied to
real and generated images before D, in both players' steps, so D cannot memorise a small dataset and G still
gets gradients through the transform. Their policy is colour, translation and cutout, in that order
(train.augment names which apply: core.config.checks.augment_policies).

Every transform may be given some rows of a larger batch: its random numbers are drawn for the whole batch and
those rows' taken, so a run split over several processes draws what one process draws."""
import torch
import torch.nn.functional as F

def _uniform(x: torch.Tensor, generator: torch.Generator, batch: int | None, rows: slice) -> torch.Tensor:
    """One number in [0, 1) per image, shaped to broadcast over it."""
    return torch.rand(batch or len(x), 1, 1, 1, generator=generator, device=x.device)[rows].to(x.dtype)


def color(x: torch.Tensor, generator: torch.Generator, batch: int | None = None,
          rows: slice = slice(None)) -> torch.Tensor:
    """Brightness shifted by up to +-0.5, saturation scaled by 0..2 and contrast by 0.5..1.5, each image its own
    (DiffAugment's rand_brightness, rand_saturation, rand_contrast; a greyscale image has no saturation)."""
    x = x + (_uniform(x, generator, batch, rows) - 0.5)
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * (_uniform(x, generator, batch, rows) * 2) + grey
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_uniform(x, generator, batch, rows) + 0.5) + mean


def translate(x: torch.Tensor, generator: torch.Generator, fraction: float = 0.125,
              batch: int | None = None, rows: slice = slice(None)) -> torch.Tensor:
    """Each image shifted by a whole number of pixels, up to `fraction` of its size each way; the border
    colour fills in. Whole pixels keep bilinear sampling exact."""
    n, size = len(x), x.shape[-1]
    limit = int(size * fraction)
    pixels = torch.randint(-limit, limit + 1, (batch or n, 2), generator=generator, device=x.device)[rows]
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = pixels.to(x.dtype) * (2 / size)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def cutout(x: torch.Tensor, generator: torch.Generator, fraction: float = 0.5, batch: int | None = None,
           rows: slice = slice(None)) -> torch.Tensor:
    """A square of `fraction` of the image's side, centred anywhere in it (clipped at the edges), set to 0 (the
    middle of the data's range) in each image (DiffAugment's rand_cutout)."""
    n, size = len(x), x.shape[-1]
    side = int(size * fraction + 0.5)
    centres = torch.randint(0, size + (1 - side % 2), (batch or n, 2), generator=generator, device=x.device)[rows]
    axis = torch.arange(size, device=x.device)
    top_left = centres - side // 2
    inside_y = (axis[None, :] >= top_left[:, :1]) & (axis[None, :] < top_left[:, :1] + side)
    inside_x = (axis[None, :] >= top_left[:, 1:]) & (axis[None, :] < top_left[:, 1:] + side)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return x * keep[:, None].to(x.dtype)


TRANSFORMS = {"color": color, "translation": translate, "cutout": cutout}


def augment(x: torch.Tensor, policies: tuple[str, ...], generator: torch.Generator, batch: int | None = None,
            rows: slice = slice(None)) -> torch.Tensor:
    """x through each of `policies`, in order."""
    for name in policies:
        x = TRANSFORMS[name](x, generator, batch=batch, rows=rows)
    return x
