"""Generators and discriminators: DCGAN-style convolutional nets for 32/64 px images, MLPs for 2D data."""
import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from core.config import Config, ModelConfig


def _levels(image_size: int) -> int:
    """Number of stride-2 stages between 4x4 and the image size."""
    return int(math.log2(image_size // 4))


class DCGANGenerator(nn.Module):
    """z -> 4x4 -> ... -> image in [-1, 1] (BatchNorm + ReLU between stages, tanh output).

    upsample="transposed" doubles the size with 4x4 transposed convolutions (DCGAN); "nearest" with a
    nearest-neighbour resize and a 3x3 convolution, which leaves no checkerboard in the strokes.
    depth=2 adds a 3x3 convolution (BatchNorm, ReLU) after each doubling but the last, to refine strokes.
    """

    def __init__(self, z_dim=64, channels=1, image_size=32, width=32, upsample="transposed", depth=1,
                 norm: type[nn.BatchNorm2d] = nn.BatchNorm2d):
        super().__init__()
        self.z_dim = z_dim
        n = _levels(image_size)
        c = width * 2 ** (n - 1)
        layers = [nn.ConvTranspose2d(z_dim, c, 4, 1, 0, bias=False), norm(c), nn.ReLU(inplace=True)]
        for _ in range(n - 1):
            layers += [*_doubling(c, c // 2, upsample, bias=False), norm(c // 2), nn.ReLU(inplace=True)]
            c //= 2
            for _ in range(depth - 1):
                layers += [nn.Conv2d(c, c, 3, 1, 1, bias=False), norm(c), nn.ReLU(inplace=True)]
        layers += [*_doubling(c, channels, upsample, bias=True), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


def _doubling(c_in: int, c_out: int, upsample: str, bias: bool) -> list[nn.Module]:
    if upsample == "nearest":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias)]
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)]


class ConvDiscriminator(nn.Module):
    """image -> unbounded score. batch_norm=True is the classic hinge D; False is the SN-GAN D (no BatchNorm).

    depth=2 adds a 3x3 stride-1 convolution after each 4x4 stride-2 one, as in SN-GAN's "standard CNN".
    classes=K > 0 makes it a projection discriminator (Miyato & Koyama 2018): the score of an image x of
    class y adds <embed(y), features(x)> to the unconditional score, the embedding a linear map of the
    one-hot (so spectral norm covers it like every other layer).
    """

    def __init__(self, channels=1, image_size=32, width=32, batch_norm=False, depth=1,
                 norm: type[nn.BatchNorm2d] = nn.BatchNorm2d, classes=0):
        super().__init__()
        self.has_batch_norm = batch_norm
        norms = [norm] if batch_norm else []
        layers, c = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)], width
        layers += _refinements(c, depth, norms)
        for _ in range(_levels(image_size) - 1):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1), *(n(c * 2) for n in norms), nn.LeakyReLU(0.2)]
            c *= 2
            layers += _refinements(c, depth, norms)
        layers.append(nn.Conv2d(c, 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)
        self.classes = classes
        self.projection = nn.Linear(classes, c * 4 * 4, bias=False) if classes else None

    def forward(self, x, labels=None):
        if self.projection is None:
            return self.net(x).view(-1)
        features = self.net[:-1](x)
        embedded = self.projection(F.one_hot(labels, self.classes).to(features.dtype))
        return self.net[-1](features).view(-1) + (embedded * features.flatten(1)).sum(1)


def _refinements(c: int, depth: int, norms: list) -> list[nn.Module]:
    layers = []
    for _ in range(depth - 1):
        layers += [nn.Conv2d(c, c, 3, 1, 1), *(n(c) for n in norms), nn.LeakyReLU(0.2)]
    return layers


class MLPGenerator(nn.Module):
    """z -> 2D point."""

    def __init__(self, z_dim=2, hidden=128, depth=3, out_dim=2):
        super().__init__()
        self.z_dim = z_dim
        layers, d = [], z_dim
        for _ in range(depth):
            layers += [nn.Linear(d, hidden), nn.ReLU()]
            d = hidden
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """2D point -> unbounded score."""

    has_batch_norm = False

    def __init__(self, hidden=128, depth=3, in_dim=2):
        super().__init__()
        layers, d = [], in_dim
        for _ in range(depth):
            layers += [nn.Linear(d, hidden), nn.LeakyReLU(0.2)]
            d = hidden
        layers.append(nn.Linear(d, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x, labels=None):
        return self.net(x).view(-1)


def latent(model: ModelConfig, n: int, generator: torch.Generator | None = None, device=None,
           balanced: bool = False) -> torch.Tensor:
    """What G takes: z ~ N(0, I); for a class-conditional model (model.classes = K > 0) followed by the
    one-hot of a class, drawn uniformly, or with balanced=True cycling 0, 1, ..., K-1 (grids and scores)."""
    z = torch.randn(n, model.z_dim, generator=generator, device=device)
    if not model.classes:
        return z
    if balanced:
        labels = balanced_labels(n, model.classes, z.device)
    else:
        labels = torch.randint(model.classes, (n,), generator=generator, device=z.device)
    return torch.cat([z, F.one_hot(labels, model.classes).to(z.dtype)], 1)


def balanced_labels(n: int, classes: int, device=None) -> torch.Tensor:
    return torch.arange(n, device=device) % classes


def asked_classes(classes: int, n: int):
    """The classes n balanced latents ask a G of K = classes for, as numpy (None for an unconditional G: 0)."""
    return balanced_labels(n, classes).numpy() if classes else None


def latent_labels(model: ModelConfig, latents: torch.Tensor) -> torch.Tensor | None:
    """The classes a batch of latents asks G for (None for an unconditional model)."""
    return latents[:, model.z_dim:].argmax(1) if model.classes else None


def build_models(cfg: Config, norm: type[nn.BatchNorm2d] = nn.BatchNorm2d) -> tuple[nn.Module, nn.Module]:
    """The generator and (not yet spectrally normalized) discriminator that cfg describes; `norm` is the
    BatchNorm class (core.distributed's over the global batch, in several processes)."""
    m, d = cfg.model, cfg.data
    if cfg.is_2d:
        return MLPGenerator(m.z_dim, m.mlp_hidden, m.mlp_depth), MLPDiscriminator(m.mlp_hidden, m.mlp_depth)
    g = DCGANGenerator(m.z_dim + m.classes, d.channels, d.image_size, m.g_width, m.g_upsample, m.g_depth, norm)
    return g, ConvDiscriminator(d.channels, d.image_size, m.d_width, m.discriminator == "bn", m.d_depth, norm,
                                m.classes)


@contextlib.contextmanager
def eval_mode(module: nn.Module):
    """The module in eval mode (BatchNorm running statistics, no power iteration) for the block, then back."""
    module.eval()
    try:
        yield module
    finally:
        module.train()


@torch.no_grad()
def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) for conv weights, N(1, 0.02) for BatchNorm scales."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            layer.weight.normal_(0.0, 0.02)
            if layer.bias is not None:
                layer.bias.zero_()
        elif isinstance(layer, nn.BatchNorm2d):
            layer.weight.normal_(1.0, 0.02)
            layer.bias.zero_()
