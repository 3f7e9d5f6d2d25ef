"""DiffAugment (Zhao et al. 2020): colour, whole-pixel shifts filled with the border, and cutout; differentiable,
drawn for the whole batch whatever the rows, and refused on 2D data."""
import pytest
import torch

from core.training.augment import augment, color, cutout, translate
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
    assert resolve("digits", overrides=["train.augment=cutout,color"]).train.augment == "cutout,color"
    for wrong in ("blur", "", "translation,,color"):
        with pytest.raises(ConfigError, match="train.augment must be 'off' or any of color, translation, cutout"):
            resolve("digits", overrides=[f"train.augment={wrong}"])


def test_color_moves_brightness_saturation_and_contrast_per_image_and_passes_gradients():
    x = torch.rand(64, 3, 8, 8).mul(2).sub(1).requires_grad_(True)
    out = color(x, torch.Generator().manual_seed(0))
    brightness = (out.mean(dim=[1, 2, 3]) - x.mean(dim=[1, 2, 3])).detach()
    assert brightness.abs().max() <= 0.5 + 1e-6 and brightness.std() > 0.1  # each image its own shift, within +-0.5
    spread = out.std(dim=[1, 2, 3]).detach() / x.std(dim=[1, 2, 3]).detach()
    assert spread.min() < 0.6 and spread.max() > 1.2  # saturation x 0..2, contrast x 0.5..1.5
    out.sum().backward()
    assert x.grad.abs().sum() > 0
    grey = torch.rand(4, 1, 8, 8)  # no saturation to scale: brightness and contrast only, a shift and a scale
    shifted = color(grey, torch.Generator().manual_seed(1))
    centred = grey - grey.mean(dim=[2, 3], keepdim=True)
    scale = shifted.std(dim=[2, 3], keepdim=True) / grey.std(dim=[2, 3], keepdim=True)
    assert torch.allclose(shifted - shifted.mean(dim=[2, 3], keepdim=True), centred * scale, atol=1e-5)


def test_cutout_blanks_one_square_of_half_the_side_in_each_image():
    x = torch.ones(200, 1, 8, 8)
    out = cutout(x, torch.Generator().manual_seed(0))
    blanked = (out == 0).flatten(1).sum(1)
    assert blanked.max() == 16 and blanked.min() >= 4  # a 4x4 square, clipped where it overhangs an edge
    for image in out[:20, 0]:
        rows, cols = torch.nonzero(image == 0, as_tuple=True)
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # one rectangle


@pytest.mark.parametrize("transform", [color, translate, cutout])
def test_some_rows_of_a_batch_draw_what_the_whole_batch_draws(transform):
    x = torch.rand(8, 3, 8, 8)
    whole = transform(x, torch.Generator().manual_seed(4))
    rows = transform(x[4:], torch.Generator().manual_seed(4), batch=8, rows=slice(4, 8))
    assert torch.allclose(rows, whole[4:], atol=1e-6)


def test_the_full_policy_applies_colour_then_translation_then_cutout():
    x = torch.rand(4, 3, 8, 8)
    out = augment(x, ("color", "translation", "cutout"), torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(2)
    assert torch.equal(out, cutout(translate(color(x, g), g), g))
    assert torch.equal(augment(x, (), torch.Generator()), x)


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
    full = train("color,translation,cutout")
    assert any(not torch.equal(full[k], shifted[k]) for k in full)
    assert all(torch.equal(full[k], v) for k, v in train("color,translation,cutout").items())
