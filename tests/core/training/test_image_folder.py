import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.base.errors import ConfigError, DataError
from core.training.image_folder import cached_folder, decode

EMOJI = Path(__file__).resolve().parents[4] / "shared" / "data" / "emoji-google-64"  # beside the repo
WHITE = (255, 255, 255)


def transparent_with_a_dot(path: Path, mode: str = "RGBA") -> Path:
    """16x16, fully transparent but for an opaque dark-red 4x4 square in the middle."""
    image = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    image.paste((120, 0, 0, 255), (6, 6, 10, 10))
    (image if mode == "RGBA" else image.convert(mode)).save(path)
    return path


@pytest.mark.parametrize("background, expected", [("white", WHITE), ("#3366ff", (0x33, 0x66, 0xff))])
def test_transparent_pixels_take_the_background_colour_not_black(tmp_path, background, expected):
    from core.base.colours import colour_setting

    image = decode(transparent_with_a_dot(tmp_path / "a.png"), 16, 3, colour_setting("data.background", background))
    assert tuple(image[:, 0, 0]) == expected
    assert tuple(image[:, 8, 8]) == (120, 0, 0)


def test_palette_and_grey_with_alpha_files_are_composited_too(tmp_path):
    palette = Image.new("P", (16, 16), 0)
    palette.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    palette.paste(1, (6, 6, 10, 10))
    palette.save(tmp_path / "p.png", transparency=0)  # palette index 0 is transparent
    grey = Image.new("LA", (16, 16), (0, 0))
    grey.paste((40, 255), (6, 6, 10, 10))
    grey.save(tmp_path / "la.png")
    p, la = decode(tmp_path / "p.png", 16, 3, WHITE), decode(tmp_path / "la.png", 16, 1, WHITE)
    assert tuple(p[:, 0, 0]) == WHITE and tuple(p[:, 8, 8]) == (200, 30, 30)
    assert la[0, 0, 0] == 255 and la[0, 8, 8] == 40


def test_sixteen_bit_greys_are_scaled_to_eight_bits_not_clipped(tmp_path):
    ramp = np.array([[0, 4096, 32768, 65535]] * 4, np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I;16")
    image = decode(tmp_path / "deep.png", 4, 1, WHITE)
    assert image[0, 0].tolist() == [0, 16, 128, 255]


def test_cmyk_jpegs_read_as_their_colours(tmp_path):
    Image.new("RGB", (16, 16), (200, 40, 40)).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    assert np.abs(decode(tmp_path / "cmyk.jpg", 16, 3, WHITE)[:, 8, 8].astype(int) - (200, 40, 40)).max() < 12


def test_a_photo_taken_sideways_is_turned_upright_as_viewers_show_it(tmp_path):
    """8 wide, 4 tall, left half red; EXIF orientation 6 says: turn it a quarter clockwise to view it, which
    puts the left half on top."""
    image = Image.new("RGB", (8, 4), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 4, 4))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(tmp_path / "sideways.jpg", exif=exif, quality=100)
    upright = decode(tmp_path / "sideways.jpg", 4, 3, WHITE)  # the 4x8 upright picture's middle 4x4
    assert upright[0, 0, 2] > 200 and upright[2, 0, 2] < 60  # the top row red
    assert upright[2, 3, 2] > 200 and upright[0, 3, 2] < 60  # the bottom row blue


def folder_of(tmp_path: Path, n: int) -> Path:
    root = tmp_path / "images"
    (root / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / "nested" if i % 2 else root
        Image.fromarray(rng.integers(0, 255, (12, 10, 3), np.uint8)).save(folder / f"{i}.png")
    return root


def test_a_folder_is_decoded_once_in_parallel_and_found_in_the_cache_until_it_changes(tmp_path):
    root = folder_of(tmp_path, 150)
    heard = []
    first = cached_folder(root, 8, 3, progress=lambda done, total: heard.append((done, total)))
    assert first.shape == (150, 3, 8, 8) and first.seconds > 0
    assert heard[-1] == (150, 150) and len(heard) > 1
    in_parallel = np.fromfile(first.data, np.uint8).copy()
    first.data.unlink()  # decoded again, by one worker: the same bytes in the same order
    assert np.array_equal(np.fromfile(cached_folder(root, 8, 3, workers=1).data, np.uint8), in_parallel)

    again = cached_folder(root, 8, 3, progress=lambda done, total: heard.append("decoded again"))
    assert again.seconds == 0 and "decoded again" not in heard
    assert np.array_equal(again.images(1024), in_parallel.reshape(150, 3, 8, 8))

    os.utime(root / "4.png", ns=(0, 10**9))  # touched: decoded again
    assert cached_folder(root, 8, 3).seconds > 0
    assert cached_folder(root, 8, 3, background="black").data != again.data  # the pixels would differ
    (root / "nested" / "7.png").unlink()
    assert cached_folder(root, 8, 3).shape[0] == 149


def test_a_folder_larger_than_the_memory_budget_is_memory_mapped(tmp_path):
    cached = cached_folder(folder_of(tmp_path, 40), 32, 3)  # 40 x 3 x 32 x 32 = 0.12 MB
    mapped, held = cached.images(memory_budget_mb=0), cached.images(memory_budget_mb=1)
    assert isinstance(mapped, np.memmap) and not isinstance(held, np.memmap)
    assert np.array_equal(mapped[[3, 17, 39]], held[[3, 17, 39]])


def test_unreadable_files_are_skipped_and_listed_with_why(tmp_path):
    root = folder_of(tmp_path, 3)
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    cached = cached_folder(root, 8, 3)
    assert cached.shape[0] == 3
    assert [s["file"] for s in cached.skipped] == ["broken.png"]
    assert "UnidentifiedImageError" in cached.skipped[0]["why"]
    assert "broken.png" in cached.listing.read_text()


def test_a_decoding_cut_short_is_decoded_again(tmp_path):
    root = folder_of(tmp_path, 10)
    cached = cached_folder(root, 8, 3)
    with open(cached.data, "r+b") as f:
        f.truncate(100)
    assert cached_folder(root, 8, 3).seconds > 0


def test_a_background_that_is_no_colour_is_named(tmp_path):
    with pytest.raises(ConfigError, match="data.background = 'blurple' is not a colour"):
        cached_folder(folder_of(tmp_path, 2), 8, 3, background="blurple")


def test_a_folder_without_one_readable_image_names_the_first_and_why(tmp_path):
    (tmp_path / "a.png").write_bytes(b"nope")
    with pytest.raises(DataError, match="none of the 1 image files .* could be read .*a.png: Unidentified"):
        cached_folder(tmp_path, 8, 3)


@pytest.mark.skipif(not EMOJI.is_dir(), reason="../shared/data/emoji-google-64 is not beside this checkout")
def test_real_emoji_keep_their_white_background_and_dark_outlines(tmp_path):
    cached = cached_folder(EMOJI, 64, 3)
    images = cached.images(4096)
    assert images.shape == (3786, 3, 64, 64) and not cached.skipped
    corners = images[:, :, 0, 0]
    assert (corners == 255).all(1).mean() > 0.9  # transparent corners read white, as every viewer shows them
    assert (images.reshape(len(images), 3, -1).max(1) < 60).mean() > 0.01  # dark strokes remain
