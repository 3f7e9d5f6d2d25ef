import pytest
import torch

from core.training.models import ConvDiscriminator
from core.training.models import MLPDiscriminator
from core.training.spectral import SigmaProbe, canonical_parameters, normalized_layers, set_spectral_norm


def test_switching_keeps_parameters_and_optimizer_working():
    torch.manual_seed(0)
    d = ConvDiscriminator(1, 32, width=4)
    params = canonical_parameters(d)
    opt = torch.optim.Adam(params, lr=1e-2, betas=(0.0, 0.9))
    x = torch.randn(6, 1, 32, 32)
    for enabled in (True, False, True):
        set_spectral_norm(d, enabled)
        assert (len(normalized_layers(d)) == 4) == enabled
        assert {id(p) for p in canonical_parameters(d)} == {id(p) for p in params}
        before = [p.detach().clone() for p in params]
        opt.zero_grad()
        d(x).mean().backward()
        opt.step()
        assert all(not torch.equal(a, p) for a, p in zip(before, params) if p.grad is not None)


def test_turning_off_keeps_the_normalized_weights():
    torch.manual_seed(0)
    d = ConvDiscriminator(1, 32, width=4)
    set_spectral_norm(d, True)
    for _ in range(30):  # power iteration converges in training mode
        d(torch.randn(2, 1, 32, 32))
    d.eval()
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        on = d(x)
        set_spectral_norm(d, False)
        off = d(x)
    assert torch.allclose(on, off, atol=1e-5)
    sigmas = SigmaProbe(iterations=20)(d)
    assert len(sigmas) == 4 and all(abs(s - 1) < 0.05 for s in sigmas.values())


def exact_sigmas(d):
    return {name: float(torch.linalg.matrix_norm(w.detach().flatten(1), ord=2))
            for name, w in ((n, (layer.parametrizations.weight.original if normalized_layers(d) else layer.weight))
                            for n, layer in d.named_modules() if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)))}


def test_sigma_probe_reads_normalized_layers_from_their_power_iteration():
    torch.manual_seed(0)
    d = ConvDiscriminator(1, 32, width=4)
    set_spectral_norm(d, True)
    for _ in range(50):  # spectral norm's own power iteration converges in training mode
        d(torch.randn(2, 1, 32, 32))
    probe = SigmaProbe(iterations=0)  # no iterations of its own: everything comes from u and v
    exact = exact_sigmas(d)
    assert probe(d) == pytest.approx(exact, rel=1e-3)


def test_sigma_probe_converges_on_plain_layers_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    d = MLPDiscriminator(hidden=64, depth=3)
    probe = SigmaProbe()
    rng = torch.get_rng_state()
    for _ in range(20):  # twenty publishes (40 s of a live run), three iterations each
        sigmas = probe(d)
    assert torch.equal(rng, torch.get_rng_state())
    assert sigmas == pytest.approx(exact_sigmas(d), rel=1e-2)  # a live readout: 1% is plenty


def test_canonical_order_is_the_same_with_and_without_norm():
    d = ConvDiscriminator(1, 32, width=4)
    shapes_off = [p.shape for p in canonical_parameters(d)]
    set_spectral_norm(d, True)
    assert [p.shape for p in canonical_parameters(d)] == shapes_off


def test_power_iteration_stays_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    d = ConvDiscriminator(1, 32, width=4)
    set_spectral_norm(d, True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        for _ in range(30):
            out = d(torch.randn(2, 1, 32, 32))
        weights = [layer.weight for layer in (d.net[0], d.net[2])]
    assert out.dtype == torch.bfloat16  # the convolutions did run in bf16
    for weight in weights:
        assert weight.dtype == torch.float32
        assert abs(float(torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2)) - 1) < 1e-3
    assert all(b.dtype == torch.float32 for name, b in d.named_buffers() if name.endswith(("_u", "_v")))
