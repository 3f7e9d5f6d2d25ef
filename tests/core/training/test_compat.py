"""Each private torch API core.training.compat wraps, checked on the torch installed: a torch upgrade that
moves one fails here, by name."""
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from core.training import compat


def test_spectral_norm_parametrization_divides_by_the_largest_singular_value():
    layer = nn.Linear(6, 5)
    parametrization = compat.SpectralNormParametrization(layer.weight, n_power_iterations=20)
    parametrize.register_parametrization(layer, "weight", parametrization)
    sigma = torch.linalg.matrix_norm(layer.parametrizations.weight.original.detach(), ord=2)
    torch.testing.assert_close(torch.linalg.matrix_norm(layer.weight.detach(), ord=2), torch.tensor(1.0), rtol=1e-3,
                               atol=1e-3)
    u, v = compat.power_iteration_vectors(layer.parametrizations.weight[0])
    assert u.shape == (5,) and v.shape == (6,)
    torch.testing.assert_close(u @ layer.parametrizations.weight.original.detach() @ v, sigma, rtol=1e-3, atol=1e-3)


def test_weight_matrix_puts_the_output_dimension_first():
    conv = nn.ConvTranspose2d(3, 4, 3)  # weight (in, out, k, k): spectral norm reads dim 1 as the output
    parametrization = compat.SpectralNormParametrization(conv.weight, dim=1)
    assert compat.weight_matrix(parametrization, conv.weight.detach()).shape == (4, 3 * 3 * 3)


def test_the_cpu_says_whether_it_has_native_bf16_as_linux_does():
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else None
    if flags is None or "amx_tile" in flags:
        pytest.skip("the kernel's CPU flags are not readable here (or AMX, which torch detects its own way)")
    assert compat.cpu_has_native_bf16() == ("avx512_bf16" in flags)


def test_lerp_all_moves_every_target_toward_its_source():
    targets, sources = [torch.zeros(3), torch.ones(2)], [torch.full((3,), 10.0), torch.full((2,), 3.0)]
    compat.lerp_all_(targets, sources, 0.25)
    torch.testing.assert_close(targets[0], torch.full((3,), 2.5))
    torch.testing.assert_close(targets[1], torch.full((2,), 1.5))


def test_torch_compile_names_its_backends():
    assert {"inductor", "eager", "aot_eager"} <= set(compat.compile_backends())
