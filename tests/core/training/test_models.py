import pytest
import torch

from core.config import Config, ModelConfig
from core.training.models import (ConvDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, build_models, latent,
                         latent_labels)


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


def test_a_projection_discriminator_adds_the_class_embedding_times_the_features():
    d = ConvDiscriminator(1, 32, width=4, classes=10)
    x = torch.randn(1, 1, 32, 32).expand(10, -1, -1, -1)  # one image, asked about every class
    with torch.no_grad():
        d.projection.weight.normal_()
        scores = d(x, torch.arange(10))
        unconditional = d.net(x[:1]).view(-1)
        features = d.net[:-1](x[:1]).flatten(1)
        torch.testing.assert_close(scores - unconditional, (d.projection.weight.T @ features.T).view(-1))
    assert scores.std() > 0.1  # the class moves the score


def test_an_unconditional_latent_is_the_plain_normal_draw():
    model = ModelConfig(z_dim=8)
    drawn = latent(model, 5, torch.Generator().manual_seed(1))
    assert torch.equal(drawn, torch.randn(5, 8, generator=torch.Generator().manual_seed(1)))
    assert latent_labels(model, drawn) is None


def test_a_conditional_latent_carries_its_class_as_a_one_hot_after_z():
    model = ModelConfig(z_dim=8, classes=10)
    balanced = latent(model, 25, torch.Generator().manual_seed(1), balanced=True)
    assert balanced.shape == (25, 18)
    assert torch.equal(balanced[:, :8], torch.randn(25, 8, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(latent_labels(model, balanced), torch.arange(25) % 10)
    assert torch.equal(balanced[:, 8:].sum(1), torch.ones(25))
    drawn = latent_labels(model, latent(model, 2000, torch.Generator().manual_seed(2)))
    assert torch.bincount(drawn, minlength=10).min() > 150  # uniform: 200 expected per class


def test_a_conditional_generator_takes_z_and_the_class():
    cfg = Config(model=ModelConfig(z_dim=8, g_width=4, d_width=4, classes=10))
    G, D = build_models(cfg)
    z = latent(cfg.model, 4, torch.Generator().manual_seed(0))
    assert G(z).shape == (4, 1, 32, 32) and D(G(z), latent_labels(cfg.model, z)).shape == (4,)
