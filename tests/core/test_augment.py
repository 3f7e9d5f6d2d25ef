"""DiffAugment's translation: whole-pixel shifts filled with the border, differentiable, and refused on 2D data."""
import pytest
import torch

from core.augment import translate
from core.config import resolve
from core.errors import ConfigError


def test_translation_shifts_each_image_by_whole_pixels_and_passes_gradients():
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8).requires_grad_(True)
    out = translate(x, torch.Generator().manual_seed(3), fraction=0.25)
    for image, moved in zip(x.detach(), out.detach()):
        inner = moved[0, 2:-2, 2:-2]  # away from the filled border, a shifted window of the original
        assert any(torch.equal(inner, image[0, 2 + dy:6 + dy, 2 + dx:6 + dx])
                   for dy in range(-2, 3) for dx in range(-2, 3))
    out.sum().backward()
    assert x.grad.abs().sum() > 0


def test_augmentation_is_for_images_only():
    assert resolve("digits", overrides=["train.augment=translation"]).train.augment == "translation"
    with pytest.raises(ConfigError, match="2D"):
        resolve("ring8", overrides=["train.augment=translation"])
    with pytest.raises(ConfigError, match="train.augment"):
        resolve("digits", overrides=["train.augment=cutout"])


def test_the_engine_trains_on_augmented_batches_reproducibly(tiny_digits_config):
    from core.engine import Trainer
    from tests.core.helpers import weights

    def train(augment):
        trainer = Trainer(tiny_digits_config(augment=augment), "cpu")
        for _ in range(3):
            trainer.train_step()
        return weights(trainer)

    plain, shifted, again = train("off"), train("translation"), train("translation")
    assert any(not torch.equal(plain[k], shifted[k]) for k in plain)
    assert all(torch.equal(shifted[k], again[k]) for k in shifted)
