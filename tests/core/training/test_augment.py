"""DiffAugment's translation: whole-pixel shifts filled with the border, differentiable, and refused on 2D data."""
import pytest
import torch

from core.training.augment import translate
from core.config import resolve
from core.base.errors import ConfigError


def test_translation_shifts_each_image_by_the_pixels_it_drew_and_passes_gradients():
    x = torch.arange(4 * 8 * 8, dtype=torch.float32).view(4, 1, 8, 8).requires_grad_(True)
    out = translate(x, torch.Generator().manual_seed(3), fraction=0.25)
    drawn = torch.randint(-2, 3, (4, 2), generator=torch.Generator().manual_seed(3))  # the same draws: (x, y)
    assert drawn.abs().sum() > 0  # this seed moves at least one image
    for image, moved, (dx, dy) in zip(x.detach(), out.detach(), drawn.tolist()):
        inner = moved[0, 2:-2, 2:-2]  # away from the filled border: the original, moved by exactly its shift
        assert torch.equal(inner, image[0, 2 + dy:6 + dy, 2 + dx:6 + dx]), (dx, dy)
    out.sum().backward()
    assert x.grad.abs().sum() > 0


def test_augmentation_is_for_images_only():
    assert resolve("digits", overrides=["train.augment=translation"]).train.augment == "translation"
    with pytest.raises(ConfigError, match="2D"):
        resolve("ring8", overrides=["train.augment=translation"])
    with pytest.raises(ConfigError, match="train.augment"):
        resolve("digits", overrides=["train.augment=cutout"])


def test_the_engine_trains_on_augmented_batches_reproducibly(tiny_digits_config):
    from core.training.trainer import Trainer
    from tests.core.helpers import weights

    def train(augment):
        trainer = Trainer(tiny_digits_config(augment=augment), "cpu")
        for _ in range(3):
            trainer.train_step()
        return weights(trainer)

    plain, shifted, again = train("off"), train("translation"), train("translation")
    assert any(not torch.equal(plain[k], shifted[k]) for k in plain)
    assert all(torch.equal(shifted[k], again[k]) for k in shifted)
