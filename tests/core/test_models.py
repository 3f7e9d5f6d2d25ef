import pytest
import torch

from core.models import ConvDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_image_models_shapes(size, channels):
    g = DCGANGenerator(z_dim=8, channels=channels, image_size=size, width=4)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, channels, size, size) and x.abs().max() <= 1
    for batch_norm in (False, True):
        d = ConvDiscriminator(channels, size, width=4, batch_norm=batch_norm)
        assert d(x).shape == (3,)
        assert d.has_batch_norm == batch_norm
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules()) == batch_norm


def test_discriminator_score_is_unbounded():
    d = ConvDiscriminator(1, 32, width=4)
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(50)
    assert d(torch.randn(4, 1, 32, 32)).abs().max() > 1


def test_mlp_models():
    g, d = MLPGenerator(2, 16, 2), MLPDiscriminator(16, 2)
    assert g(torch.randn(5, 2)).shape == (5, 2)
    assert d(torch.randn(5, 2)).shape == (5,)


@pytest.mark.parametrize("size", [32, 64])
def test_a_deeper_generator_refines_every_resolution_but_the_output(size):
    shallow = DCGANGenerator(z_dim=8, image_size=size, width=4)
    deep = DCGANGenerator(z_dim=8, image_size=size, width=4, depth=2)
    refinements = [m for m in deep.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (1, 1)]
    doublings = sum(isinstance(m, torch.nn.ConvTranspose2d) for m in shallow.modules()) - 1  # less the 4x4 start
    assert len(refinements) == doublings - 1 and [m.kernel_size for m in refinements] == [(3, 3)] * len(refinements)
    assert deep(torch.randn(3, 8)).shape == shallow(torch.randn(3, 8)).shape == (3, 1, size, size)
