"""Spectral normalization switched on and off on a live module, keeping the same Parameter objects.

`parametrizations.spectral_norm` and `remove_parametrizations(leave_parametrized=True)` both keep
the original Parameter, so optimizers built before a switch keep working after it.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from core.training.compat import SpectralNormParametrization, power_iteration_vectors, weight_matrix

NORMALIZABLE = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def normalizable_layers(module: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in module.named_modules() if isinstance(m, NORMALIZABLE)}


def is_normalized(layer: nn.Module) -> bool:
    return parametrize.is_parametrized(layer, "weight")


def normalized_layers(module: nn.Module) -> list[str]:
    return [name for name, layer in normalizable_layers(module).items() if is_normalized(layer)]


class FP32SpectralNorm(SpectralNormParametrization):
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


def switch_spectral_norm(module: nn.Module, optimizer, enabled: bool) -> list[str]:
    """Switch spectral norm on all of a module's layers; return the layers that changed.

    A switched weight's Adam moments are dropped: they were gathered under the other parametrization
    (gradients of W rather than of W / sigma, a scale apart by sigma), and kept they moved D by up to
    several learning rates in the steps after a switch. Measured: tests/benchmarks/sn_switch.py.
    """
    before = set(normalized_layers(module))
    set_spectral_norm(module, enabled)
    switched = sorted(before ^ set(normalized_layers(module)))
    for name in switched:
        layer = normalizable_layers(module)[name]
        weight = layer.parametrizations.weight.original if is_normalized(layer) else layer.weight
        optimizer.state.pop(weight, None)  # Adam starts this weight's moments afresh
    return switched


def canonical_parameters(module: nn.Module) -> list[nn.Parameter]:
    """Parameters in an order that does not depend on which layers are normalized (for optimizer state)."""
    named = module.named_parameters()
    key = lambda item: item[0].replace("parametrizations.", "").replace(".original", "")  # noqa: E731
    return [p for _, p in sorted(named, key=key)]


def _weight_matrix(layer: nn.Module) -> torch.Tensor:
    """The raw weight as the matrix spectral norm divides (output dimension first)."""
    if is_normalized(layer):
        param = layer.parametrizations.weight
        return weight_matrix(param[0], param.original.detach())
    weight = layer.weight.detach()
    return (weight.transpose(0, 1) if isinstance(layer, nn.ConvTranspose2d) else weight).flatten(1)


class SigmaProbe:
    """The largest singular value of each layer's raw weight, estimated cheaply for live display.

    A normalized layer's sigma comes from its own power-iteration vectors (sigma = u^T W v, what spectral
    norm divides by); any other layer runs a few power iterations on vectors this probe keeps, drawn from
    its own generator, so reading sigmas never touches the training RNG. Costs a few matrix-vector products.
    """

    def __init__(self, iterations: int = 3):
        self.iterations = iterations
        self._u: dict[str, torch.Tensor] = {}
        self._generator = torch.Generator().manual_seed(0)

    @torch.no_grad()
    def __call__(self, module: nn.Module) -> dict[str, float]:
        sigmas = {}
        for name, layer in normalizable_layers(module).items():
            matrix = _weight_matrix(layer).float()
            if is_normalized(layer):
                u, v = power_iteration_vectors(layer.parametrizations.weight[0])
                sigma = torch.dot(u.float(), matrix @ v.float())
            else:
                sigma = self._power_iteration(name, matrix)
            sigmas[name] = sigma
        values = torch.stack(list(sigmas.values())).cpu().tolist() if sigmas else []  # one copy to the host
        return {name: float(v) if math.isfinite(v) else float("nan") for name, v in zip(sigmas, values)}

    def _power_iteration(self, name: str, matrix: torch.Tensor) -> torch.Tensor:
        u = self._u.get(name)
        if u is None or u.shape[0] != matrix.shape[0] or u.device != matrix.device:
            u = torch.randn(matrix.shape[0], generator=self._generator).to(matrix.device)
        for _ in range(self.iterations):
            v = F.normalize(matrix.t() @ u, dim=0, eps=1e-12)
            u = F.normalize(matrix @ v, dim=0, eps=1e-12)
        self._u[name] = u
        return torch.dot(u, matrix @ v)
