"""Every private torch API this project leans on, in one place: a torch upgrade that moves one of them
breaks here, in one file, and tests/core/training/test_compat.py checks each use on the torch installed.
They are why torch is capped in pyproject.toml."""
from __future__ import annotations

import importlib
import threading

import torch
from torch.nn.utils.parametrizations import _SpectralNorm as SpectralNormParametrization

__all__ = ["SpectralNormParametrization", "power_iteration_vectors", "weight_matrix", "cpu_has_native_bf16", "lerp_all_",
           "import_compiler_in_background", "compile_backends"]


def power_iteration_vectors(parametrization) -> tuple[torch.Tensor, torch.Tensor]:
    """(u, v) of a spectral-norm parametrization: sigma(W) = u^T W v is what it divides by."""
    return parametrization._u, parametrization._v


def weight_matrix(parametrization, weight: torch.Tensor) -> torch.Tensor:
    """A weight as the matrix its spectral-norm parametrization takes sigma of (the output dimension first)."""
    return parametrization._reshape_weight_to_matrix(weight)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 dot-product instructions (AVX512-BF16 or AMX)."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def lerp_all_(targets: list[torch.Tensor], sources: list[torch.Tensor], weight: float) -> None:
    """targets += weight * (sources - targets), every pair in one kernel launch."""
    torch._foreach_lerp_(targets, sources, weight)


def import_compiler_in_background() -> threading.Thread:
    """torch.compile needs torch._dynamo (1.3 s to import on a laptop CPU); begun in a thread now, the import
    overlaps with building the models, which mostly run in torch's kernels, outside the GIL."""
    thread = threading.Thread(target=importlib.import_module, args=("torch._dynamo",), daemon=True,
                              name="hinge-import")
    thread.start()
    return thread


def compile_backends() -> list[str]:
    """The names torch.compile takes as a backend (slow to import: asked only for a backend name)."""
    from torch._dynamo import list_backends

    return list_backends(exclude_tags=())
