"""Spectral normalization switched on and off on a live module, keeping the same Parameter objects.

`parametrizations.spectral_norm` and `remove_parametrizations(leave_parametrized=True)` both keep
the original Parameter, so optimizers built before a switch keep working after it.
"""
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

NORMALIZABLE = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def normalizable_layers(module: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in module.named_modules() if isinstance(m, NORMALIZABLE)}


def is_normalized(layer: nn.Module) -> bool:
    return parametrize.is_parametrized(layer, "weight")


def normalized_layers(module: nn.Module) -> list[str]:
    return [name for name, layer in normalizable_layers(module).items() if is_normalized(layer)]


class FP32SpectralNorm(_SpectralNorm):
    """torch's spectral-norm parametrization with the power iteration and sigma kept in fp32 under autocast."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.autocast(weight.device.type, enabled=False):
            return super().forward(weight)


def spectral_norm(layer: nn.Module) -> None:
    dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0  # the output dimension, as torch chooses it
    parametrize.register_parametrization(layer, "weight", FP32SpectralNorm(layer.weight, dim=dim))


def set_spectral_norm(module: nn.Module, enabled: bool, layers=None) -> None:
    """Normalize (or stop normalizing) the named layers, all normalizable ones by default.

    Turning it off keeps the weights as they are used now, W / sigma(W).
    """
    for name, layer in normalizable_layers(module).items():
        want = enabled if layers is None else (name in layers)
        if want and not is_normalized(layer):
            spectral_norm(layer)
        elif not want and is_normalized(layer):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)


def canonical_parameters(module: nn.Module) -> list[nn.Parameter]:
    """Parameters in an order that does not depend on which layers are normalized (for optimizer state)."""
    named = module.named_parameters()
    key = lambda item: item[0].replace("parametrizations.", "").replace(".original", "")  # noqa: E731
    return [p for _, p in sorted(named, key=key)]


@torch.no_grad()
def spectral_sigmas(module: nn.Module) -> dict[str, float]:
    """Largest singular value of each layer's raw weight (what spectral norm divides by)."""
    sigmas = {}
    for name, layer in normalizable_layers(module).items():
        weight = layer.parametrizations.weight.original if is_normalized(layer) else layer.weight
        matrix = weight.detach().flatten(1).float()
        finite = bool(torch.isfinite(matrix).all())
        sigmas[name] = float(torch.linalg.matrix_norm(matrix, ord=2)) if finite else float("nan")
    return sigmas
