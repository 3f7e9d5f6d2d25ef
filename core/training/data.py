"""Data sources. Everything ends as a small object with `sample(batch, generator)` that returns a
batch on the training device without touching the host: 2D mixtures are sampled on the device,
image sets are kept resident as uint8 and indexed there.
"""
from __future__ import annotations

import gzip
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.config import DataConfig
from core.base.errors import DataError
from core.training.digits import embedded_digits
from core.training.image_folder import CachedFolder, Progress, cached_folder, folder_labels


def ring8_centers() -> torch.Tensor:
    """PacGAN's 2D ring: 8 Gaussians at (cos 2*pi*i/8, sin 2*pi*i/8)."""
    angles = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    return torch.stack([angles.cos(), angles.sin()], 1).float()


def grid25_centers() -> torch.Tensor:
    """PacGAN's 2D grid: 25 Gaussians at {-4, -2, 0, 2, 4}^2."""
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(axis, axis)


MIXTURES = {"ring8": (ring8_centers, 0.01), "grid25": (grid25_centers, 0.05)}


@dataclass
class PointMixture:
    """An equal-weight mixture of isotropic Gaussians in 2D."""

    name: str
    centers: torch.Tensor
    std: float
    kind = "points"

    def to(self, device):
        return PointMixture(self.name, self.centers.to(device), self.std)

    def sample(self, batch: int, generator: torch.Generator, rows: slice = slice(None)) -> torch.Tensor:
        """A batch of points; with rows, only those rows of it (the same draws, whatever the rows)."""
        device = self.centers.device
        idx = torch.randint(len(self.centers), (batch,), generator=generator, device=device)[rows]
        noise = torch.randn(batch, 2, generator=generator, device=device)[rows]
        return self.centers[idx] + self.std * noise

    def bounds(self) -> float:
        return float(self.centers.abs().max()) * 1.5 + 0.5

    def describe(self) -> str:
        return f"{self.name}: {len(self.centers)} Gaussians, std {self.std:g}"


@dataclass
class ImageBank:
    """Images held as uint8 (N, C, H, W), sampled uniformly with replacement and scaled to [-1, 1]."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None = None
    skipped: int = 0  # unreadable files left out
    skipped_where: str = ""  # where they are listed, with why
    train_index: torch.Tensor | None = None  # with data.holdout: the images trained on (None: all) ...
    held_index: torch.Tensor | None = None  # ... and those held out, never trained on
    kind = "images"

    def __len__(self):
        return len(self.images) if self.train_index is None else len(self.train_index)

    def to(self, device):
        labels = None if self.labels is None else self.labels.to(device)
        indices = (None if i is None else i.to(device) for i in (self.train_index, self.held_index))
        return ImageBank(self.name, self.images.to(device), labels, self.skipped, self.skipped_where, *indices)

    def hold_out(self, share: float) -> None:
        """Keep `share` of the images (spread evenly in their order, no random draw) out of training."""
        if not share:
            return
        index = torch.arange(len(self.images), dtype=torch.float64)
        held = torch.floor((index + 1) * share) > torch.floor(index * share)
        self.train_index, self.held_index = (~held).nonzero()[:, 0], held.nonzero()[:, 0]

    def probe_set(self, n: int, held: bool):
        """Up to n of the held-out (held) or trained images, spread evenly, scaled, with their labels (or None)."""
        index = self.held_index if held else self.train_index
        index = torch.arange(len(self.images), device=self.images.device) if index is None else index
        index = index[torch.linspace(0, len(index) - 1, min(n, len(index))).round().long().to(index.device)]
        return self.scaled(index), None if self.labels is None else self.labels[index]

    def sample(self, batch: int, generator: torch.Generator, rows: slice = slice(None)) -> torch.Tensor:
        """A batch of images; with rows, only those rows of it (the same draws, whatever the rows)."""
        return self.scaled(self._draw(batch, generator, rows))

    def sample_labelled(self, batch: int, generator: torch.Generator, rows: slice = slice(None)):
        """A batch of images and their labels, drawn as `sample` draws them."""
        idx = self._draw(batch, generator, rows)
        return self.scaled(idx), self.labels[idx]

    def _draw(self, batch: int, generator: torch.Generator, rows: slice) -> torch.Tensor:
        idx = torch.randint(len(self), (batch,), generator=generator, device=self.images.device)[rows]
        return idx if self.train_index is None else self.train_index[idx]

    def scaled(self, idx: torch.Tensor) -> torch.Tensor:
        return self.images[idx].float().div_(127.5).sub_(1.0)

    def check_labels(self, classes: int) -> None:
        """Raise DataError unless every image has a label below `classes` (a class-conditional model's)."""
        if self.labels is None:
            raise DataError(f"model.classes = {classes} needs labelled images, but {self.name} has no labels "
                            f"(set model.classes = 0 to train unconditionally)")
        top = int(self.labels.max())
        if self.labels.min() < 0 or top >= classes:
            raise DataError(f"model.classes = {classes}, but {self.name} has labels up to {top} "
                            f"(set model.classes = {top + 1})")

    def describe(self) -> str:
        _, c, h, w = self.images.shape
        held = f", {len(self.held_index)} more held out" if self.held_index is not None else ""
        text = f"{self.name}: {len(self)} images{held}, {c}x{h}x{w}"
        if self.skipped:
            where = f", {self.skipped_where}" if self.skipped_where else ""
            text += f" ({self.skipped} unreadable files skipped{where})"
        return text


def fit_images(images: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, size, size): channel conversion, resize, center crop."""
    if images.shape[1] == 4:
        images = images[:, :3]
    if images.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        images = (images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    elif images.shape[1] == 1 and channels == 3:
        images = images.expand(-1, 3, -1, -1)
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images.contiguous()
    out = []
    for chunk in images.split(2048):
        scale = size / min(h, w)
        new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
        chunk = F.interpolate(chunk.float(), size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False)
        top, left = (new_h - size) // 2, (new_w - size) // 2
        out.append(chunk[..., top: top + size, left: left + size].round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


# --- MNIST-format idx files ---------------------------------------------------------------------

def read_idx(path: Path) -> np.ndarray:
    """Read one idx file (optionally gzipped) into a numpy array, with a clear error for bad files."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path} is not an idx file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated (header)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    count = int(np.prod(shape))
    if len(data) - header < count:
        raise DataError(f"{path} is truncated: expected {count} bytes of data, found {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, count=count, offset=header).reshape(shape)


def load_idx_folder(root: Path) -> ImageBank:
    """Every `*-images-idx3-ubyte[.gz]` in root, with its `*-labels-idx1-ubyte[.gz]` where present."""
    image_files = sorted(p for p in root.iterdir() if "-images-idx3-ubyte" in p.name)
    if not image_files:
        raise DataError(f"no '*-images-idx3-ubyte[.gz]' files in {root}")
    images, labels = [], []
    for path in image_files:
        arr = read_idx(path)
        if arr.ndim != 3:
            raise DataError(f"{path} holds {arr.ndim}-D data, expected (N, H, W) images")
        images.append(torch.from_numpy(arr.copy()).unsqueeze(1))
        label_path = root / path.name.replace("-images-idx3-ubyte", "-labels-idx1-ubyte")
        if label_path.exists():
            lab = read_idx(label_path)
            if len(lab) != len(arr):
                raise DataError(f"{label_path} has {len(lab)} labels for {len(arr)} images")
            labels.append(torch.from_numpy(lab.astype(np.int64)))
    all_labels = torch.cat(labels) if len(labels) == len(images) else None
    return ImageBank(f"idx files in {root}", torch.cat(images), all_labels)


# --- torchvision datasets -----------------------------------------------------------------------

def load_torchvision(name: str, root: Path, download: bool) -> ImageBank:
    import torchvision  # slow to import: only this source needs it

    cls = getattr(torchvision.datasets, name)
    try:
        ds = cls(str(root), train=True, download=download)
    except RuntimeError as exc:
        hint = "" if download else "; set data.download=true to fetch it"
        raise DataError(f"{name} not found under {root} ({exc}){hint}") from None
    except OSError as exc:
        raise DataError(f"cannot load {name} from {root}: {exc}") from None
    data = torch.as_tensor(np.asarray(ds.data))
    images = data.permute(0, 3, 1, 2) if data.ndim == 4 else data.unsqueeze(1)
    return ImageBank(f"torchvision {name}", images.contiguous(), torch.as_tensor(np.asarray(ds.targets)).long())


# --- any folder of images -----------------------------------------------------------------------

_prepared: dict[tuple, CachedFolder] = {}  # folders prepare_data found, for the load that follows it


def _folder_settings(cfg: DataConfig) -> tuple:
    return cfg.root, cfg.image_size, cfg.channels, cfg.background


def decode_folder(cfg: DataConfig, progress: Progress = lambda done, total: None) -> CachedFolder:
    """Every image under cfg.root as D receives it (core.training.image_folder), from the cache, decoded first if
    the folder changed."""
    return cached_folder(_existing(cfg.root), cfg.image_size, cfg.channels, cfg.background, progress)


def prepare_data(cfg: DataConfig, progress: Progress) -> str | None:
    """Whatever a launch does before the trainer loads its data that takes long enough to be shown (with a progress
    bar): a folder is decoded into the cache, or found there, and handed to the load that follows (a large folder
    is not listed twice). Returns a line saying what was done, or None."""
    if cfg.source != "folder":
        return None
    folder = _prepared[_folder_settings(cfg)] = decode_folder(cfg, progress)
    n, skipped = folder.shape[0], len(folder.skipped)
    done = f"decoded in {folder.seconds:.1f} s and cached" if folder.seconds else "found decoded in the cache"
    unread = f"; {skipped} unreadable files skipped, listed in {folder.listing}" if skipped else ""
    return f"{n:,} images of {cfg.root} {done}{unread}"


def load_image_folder(cfg: DataConfig) -> ImageBank:
    folder = _prepared.pop(_folder_settings(cfg), None) or decode_folder(cfg)
    skipped = f"listed in {folder.listing}" if folder.skipped else ""
    images, labels, name = folder.images(cfg.memory_budget_mb), None, f"folder {cfg.root}"
    if cfg.labels:
        found = folder_labels(folder.names, cfg.labels, Path(cfg.root).expanduser())
        if len(found.kept) < len(images):  # a copy: the unlabelled are left out
            images = images[found.kept]
        labels = torch.from_numpy(found.labels)
        name += f" ({found.describe(folder.shape[0])})"
    return ImageBank(name, torch.from_numpy(images), labels, len(folder.skipped), skipped)


def _existing(root: str) -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise DataError(f"data folder not found: {path}")
    if not path.is_dir():
        raise DataError(f"data.root must be a folder, but {path} is a file")
    return path


def load_dataset(cfg: DataConfig, batch_size: int, device: torch.device | str = "cpu"):
    """The data source cfg names, on device, checked to hold at least one batch."""
    if cfg.source in MIXTURES:
        make_centers, std = MIXTURES[cfg.source]
        return PointMixture(cfg.source, make_centers(), std).to(device)
    if cfg.source == "digits":
        images, labels = embedded_digits(cfg.n_samples, cfg.image_size)
        bank = ImageBank("embedded digits", torch.from_numpy(images), torch.from_numpy(labels))
    elif cfg.source == "idx":
        bank = load_idx_folder(_existing(cfg.root))
    elif cfg.source == "torchvision":
        root = Path(cfg.root).expanduser()
        if not cfg.download:
            root = _existing(cfg.root)
        bank = load_torchvision(cfg.name, root, cfg.download)
    elif cfg.source == "folder":
        bank = load_image_folder(cfg)
    else:
        raise DataError(f"unknown data source {cfg.source!r}")
    if len(bank) < batch_size:
        raise DataError(f"{bank.name} has {len(bank)} images, fewer than one batch of {batch_size}; "
                        f"lower train.batch_size")
    bank.images = fit_images(bank.images, cfg.image_size, cfg.channels)
    bank.hold_out(cfg.holdout)
    if len(bank) < batch_size:
        raise DataError(f"{bank.name} has {len(bank)} images left to train on after data.holdout = {cfg.holdout:g}, "
                        f"fewer than one batch of {batch_size}")
    return bank.to(device)
