import gzip
import math
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from core.config import DataConfig
from core.training.data import ImageBank, grid25_centers, load_dataset, read_idx, ring8_centers
from core.base.errors import DataError

from pathlib import Path

MNIST = Path(__file__).resolve().parents[4] / "shared" / "data" / "mnist"  # the real MNIST test set beside the repo


def test_mixtures_are_pacgans():
    ring = ring8_centers()
    assert ring.shape == (8, 2)
    assert torch.allclose(ring.norm(dim=1), torch.ones(8))
    assert torch.allclose(ring[2], torch.tensor([math.cos(math.pi / 2), 1.0]), atol=1e-6)
    grid = grid25_centers()
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    data = load_dataset(DataConfig(source="ring8"), 64)
    x = data.sample(4000, torch.Generator().manual_seed(0))
    nearest = torch.cdist(x, ring).min(1)
    assert nearest.values.max() < 0.06  # std 0.01: nothing beyond 6 std
    assert torch.bincount(nearest.indices, minlength=8).min() > 350


@pytest.mark.skipif(not MNIST.is_dir(), reason="../shared/data/mnist is not beside this checkout")
def test_real_mnist_idx_files():
    bank = load_dataset(DataConfig(source="idx", root=MNIST), 64)
    assert bank.images.shape == (10000, 1, 32, 32)
    assert bank.labels[:5].tolist() == [7, 2, 1, 0, 4]
    batch = bank.sample(16, torch.Generator().manual_seed(0))
    assert batch.min() >= -1 and batch.max() <= 1


def _write_idx(path, array, gz=False):
    header = struct.pack(">4B", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_tiny_idx_files_written_here(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (12, 28, 28))
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, gz=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(12) % 10, gz=True)
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    bank = load_dataset(DataConfig(source="idx", root=str(tmp_path), image_size=64, channels=3), 4)
    assert bank.images.shape == (12, 3, 64, 64) and bank.labels.tolist()[:3] == [0, 1, 2]


def test_truncated_idx_file_is_named(tmp_path):
    _write_idx(tmp_path / "t-images-idx3-ubyte", np.zeros((10, 28, 28)))
    data = (tmp_path / "t-images-idx3-ubyte").read_bytes()
    (tmp_path / "t-images-idx3-ubyte").write_bytes(data[:500])
    with pytest.raises(DataError, match="truncated"):
        load_dataset(DataConfig(source="idx", root=str(tmp_path)), 4)


def test_folder_of_mixed_images_skips_unreadable_ones(tmp_path):
    (tmp_path / "nested").mkdir()
    Image.new("L", (40, 30), 128).save(tmp_path / "gray.png")
    Image.new("RGB", (100, 50), (255, 0, 0)).save(tmp_path / "nested" / "red.jpg")
    Image.new("RGBA", (20, 20), (0, 255, 0, 128)).save(tmp_path / "alpha.png")
    Image.new("P", (33, 33)).save(tmp_path / "palette.png")
    Image.new("RGB", (1, 1), (9, 9, 9)).save(tmp_path / "dot.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    good = tmp_path / "cut.jpg"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good)
    good.write_bytes(good.read_bytes()[:40])
    (tmp_path / "notes.txt").write_text("not an image")
    bank = load_dataset(DataConfig(source="folder", root=str(tmp_path), image_size=32, channels=3), 4)
    assert bank.images.shape == (5, 3, 32, 32)
    assert bank.skipped == 2 and "2 unreadable" in bank.describe()
    red = bank.images[[i for i in range(5) if bank.images[i, 0].float().mean() > 200][0]]
    assert red[1].float().mean() < 10


@pytest.mark.parametrize("setup, words", [
    (lambda p: p / "missing", "not found"),
    (lambda p: p, "no images"),
    (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "is a file"),
])
def test_bad_folders_give_one_clear_message(tmp_path, setup, words):
    root = setup(tmp_path)
    with pytest.raises(DataError, match=words):
        load_dataset(DataConfig(source="folder", root=str(root)), 4)


def test_folder_of_only_broken_images(tmp_path):
    (tmp_path / "a.png").write_bytes(b"nope")
    with pytest.raises(DataError, match="could be read"):
        load_dataset(DataConfig(source="folder", root=str(tmp_path)), 1)


def test_dataset_smaller_than_a_batch(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "one.png")
    with pytest.raises(DataError, match="fewer than one batch"):
        load_dataset(DataConfig(source="folder", root=str(tmp_path)), 64)


def test_torchvision_without_files_or_download(tmp_path):
    with pytest.raises(DataError, match="data.download=true"):
        load_dataset(DataConfig(source="torchvision", name="MNIST", root=str(tmp_path)), 4)


def test_torchvision_mnist_from_a_local_root(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.random.default_rng(1).integers(0, 255, (20, 28, 28))
    for split in ("train", "t10k"):
        _write_idx(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(20) % 10)
    bank = load_dataset(DataConfig(source="torchvision", name="MNIST", root=str(tmp_path)), 4)
    assert bank.images.shape == (20, 1, 32, 32) and bank.labels.tolist()[:3] == [0, 1, 2]


def test_labelled_batches_are_the_plain_draws_with_their_labels():
    bank = load_dataset(DataConfig(source="digits", n_samples=200), 8)
    images, labels = bank.sample_labelled(32, torch.Generator().manual_seed(3), slice(8, 24))
    assert torch.equal(images, bank.sample(32, torch.Generator().manual_seed(3))[8:24])
    for image, label in zip(images, labels):
        same = (bank.images.float() / 127.5 - 1 == image).flatten(1).all(1)
        assert label in bank.labels[same]


def test_a_class_conditional_model_names_what_its_data_lacks(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "one.png")
    with pytest.raises(DataError, match="needs labelled images, but folder .* has no labels"):
        load_dataset(DataConfig(source="folder", root=str(tmp_path)), 1).check_labels(10)
    with pytest.raises(DataError, match="labels up to 9 .*set model.classes = 10"):
        load_dataset(DataConfig(source="digits", n_samples=100), 8).check_labels(5)
    load_dataset(DataConfig(source="digits", n_samples=100), 8).check_labels(10)


def test_held_out_images_are_never_drawn_for_training_and_are_spread_over_the_set():
    bank = ImageBank("numbered", torch.arange(200, dtype=torch.uint8).view(200, 1, 1, 1).expand(200, 1, 2, 2).clone(),
                     torch.arange(200) % 4)
    bank.hold_out(0.1)
    held = set(bank.held_index.tolist())
    assert len(bank) == 180 and len(held) == 20 and max(held) - min(held) >= 180  # spread, not the first 20
    drawn = {int(v) for v in bank.sample(20000, torch.Generator().manual_seed(0))[:, 0, 0, 0].add(1).mul(127.5)
             .round()}
    assert drawn == set(range(200)) - held  # every trained image drawn, no held-out one
    images, labels = bank.probe_set(8, held=True)
    assert {int(v) for v in images[:, 0, 0, 0].add(1).mul(127.5).round()} <= held and len(labels) == 8


def test_a_folder_labelled_by_a_csv_or_by_its_subfolders(tmp_path):
    for cls, colour in (("cats", (200, 0, 0)), ("dogs", (0, 0, 200))):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), colour).save(tmp_path / cls / f"{i}.png")
    Image.new("RGB", (8, 8), (0, 200, 0)).save(tmp_path / "loose.png")
    by_folder = load_dataset(DataConfig(source="folder", root=str(tmp_path), image_size=32, channels=3,
                                        labels="folders"), 4)
    assert by_folder.labels.tolist() == [0, 0, 0, 1, 1, 1] and "1 images without a label left out" in by_folder.name
    assert (by_folder.images[by_folder.labels == 1, 2].float().mean() > 150)  # dogs are the blue ones
    (tmp_path / "labels.csv").write_text("loose.png,green\ncats/0.png,red\ndogs/2.png,blue\n")
    by_csv = load_dataset(DataConfig(source="folder", root=str(tmp_path), image_size=32, channels=3,
                                     labels="labels.csv"), 2)
    assert by_csv.labels.tolist() == [2, 0, 1]  # cats/0, dogs/2, loose: classes blue, green, red
    assert by_csv.images[2, 1].float().mean() > 150
    (tmp_path / "bad.csv").write_text("loose.png\n")
    with pytest.raises(DataError, match="line 1: expected two columns"):
        load_dataset(DataConfig(source="folder", root=str(tmp_path), labels=str(tmp_path / "bad.csv")), 2)
    with pytest.raises(DataError, match="cannot read the labels file"):
        load_dataset(DataConfig(source="folder", root=str(tmp_path), labels="missing.csv"), 2)
