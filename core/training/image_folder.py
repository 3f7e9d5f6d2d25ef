"""Any folder of images, as D receives it: each file decoded as an image viewer shows it (EXIF rotation;
palette, grey-with-alpha, 16-bit and CMYK files; transparency composited over a background colour), resized
and center-cropped; the whole folder decoded once, in parallel, and kept in the cache, keyed on the files'
names, sizes and times and the settings that shape the pixels. numpy and Pillow only (no torch).

A cached folder is two files: KEY.u8 (uint8 (N, C, S, S), row after row) and KEY.json (its shape and the
files skipped), written last, so a folder whose decoding was cut short is decoded again.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.base.cpu import usable_cores
from core.base.colours import colour_setting
from core.base.errors import DataError
from core.base.files import cache_dir, write_atomically

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_IMAGE_PIXELS = 50_000_000  # refuse larger images instead of decoding gigabytes
DECODER_VERSION = 2  # part of the cache key: a change to how pixels are made decodes every folder again
CHUNK = 64  # files a worker decodes at a time
UNREADABLE = (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError)

Progress = Callable[[int, int], None]  # (files decoded, files in all)


def _flattened(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """RGB or L as a viewer shows the file: 16-bit scaled to 8, CMYK converted, transparency over `background`."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or wide.max() > 255 else 255.0
        img = Image.fromarray(np.clip(np.round(wide * (255.0 / top)), 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        img = Image.fromarray(np.clip(np.asarray(img) * 255.0, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info or img.mode in ("PA", "LA", "La", "RGBa", "RGBA"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(flat, rgba).convert("RGB")
    if img.mode in ("RGB", "L"):
        return img
    return img.convert("RGB")  # P without transparency, CMYK, YCbCr, LAB, 1, ...


def decode(path: Path, size: int, channels: int, background: tuple[int, int, int]) -> np.ndarray:
    """One file as uint8 (channels, size, size): upright, flattened, resized (shorter side to size), center-cropped."""
    with Image.open(path) as img:
        if img.width * img.height > MAX_IMAGE_PIXELS:
            raise ValueError(f"{img.width}x{img.height} is too large")
        if img.format == "JPEG":
            img.draft("RGB" if channels == 3 else "L", (size, size))  # decode at a reduced scale
        img = _flattened(ImageOps.exif_transpose(img), background)
        img = img.convert("RGB" if channels == 3 else "L")
        scale = size / min(img.size)
        new_size = (max(size, round(img.width * scale)), max(size, round(img.height * scale)))
        img = img.resize(new_size, Image.Resampling.BICUBIC, reducing_gap=2.0)
        left, top = (new_size[0] - size) // 2, (new_size[1] - size) // 2
        arr = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)
    return (arr[:, :, None] if arr.ndim == 2 else arr).transpose(2, 0, 1)


@dataclass(frozen=True)
class Listing:
    """The image files under a folder, nested or flat, in name order (hidden files and folders left out), each
    with its size and modification time: what says whether the folder changed. One stat a file, no more."""

    root: Path
    files: tuple[str, ...]  # relative paths
    stamps: tuple[tuple[int, int], ...]  # (size, mtime_ns) of each

    @classmethod
    def of(cls, root: Path) -> Listing:
        found, folders, seen = [], [""], set()
        while folders:
            relative = folders.pop()
            stat = os.stat(root / relative)
            if (stat.st_dev, stat.st_ino) in seen:  # a link back to a folder already listed
                continue
            seen.add((stat.st_dev, stat.st_ino))
            with os.scandir(root / relative) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    name = f"{relative}/{entry.name}" if relative else entry.name
                    if entry.is_dir():
                        folders.append(name)
                    elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS and entry.is_file():
                        stat = entry.stat()
                        found.append((name, stat.st_size, stat.st_mtime_ns))
        found.sort()
        return cls(root, tuple(f[0] for f in found), tuple((f[1], f[2]) for f in found))

    def key(self, size: int, channels: int, background: tuple) -> str:
        """Changes whenever a file is added, removed, renamed, rewritten or touched, or the pixels would differ."""
        digest = hashlib.sha256(json.dumps([DECODER_VERSION, size, channels, list(background)]).encode())
        digest.update("\n".join(f"{name}\0{s}\0{t}" for name, (s, t) in zip(self.files, self.stamps)).encode())
        return digest.hexdigest()[:24]


@dataclass
class CachedFolder:
    """A folder decoded into the cache: its images' file, their shape, and the files skipped."""

    data: Path  # KEY.u8
    shape: tuple[int, int, int, int]
    skipped: list[dict] = field(default_factory=list)  # {"file": relative path, "why": ...}
    seconds: float = 0.0  # spent decoding now (0: found in the cache)
    names: tuple[str, ...] = ()  # each image's file, relative to the folder, in the order of the images

    @property
    def listing(self) -> Path:
        """KEY.json: what was decoded, and which files were skipped and why."""
        return self.data.with_suffix(".json")

    def images(self, memory_budget_mb: int) -> np.ndarray:
        """uint8 (N, C, S, S): read into memory, or memory-mapped (pages read as batches need them) when larger
        than the budget."""
        if np.prod(self.shape) > memory_budget_mb * 2 ** 20:
            return np.memmap(self.data, np.uint8, mode="c", shape=self.shape)
        return np.fromfile(self.data, np.uint8).reshape(self.shape)


def _decode_chunk(paths: list[Path], size: int, channels: int, background) -> tuple[list, list]:
    images, skipped = [], []
    for path in paths:
        try:
            images.append(decode(path, size, channels, background))
        except UNREADABLE as exc:
            skipped.append((path, f"{type(exc).__name__}: {exc}"))
    return images, skipped


def _decode_into(target: Path, files: list[Path], size: int, channels: int, background,
                 progress: Progress, workers: int) -> tuple[int, list]:
    """Decode every file in parallel (Pillow lets go of the GIL while it decodes and resizes), appending the
    images to `target` in file order; returns how many were written and the (path, why) of those skipped."""
    chunks = [files[i: i + CHUNK] for i in range(0, len(files), CHUNK)]
    written, skipped, done = 0, [], 0
    with open(target, "wb") as out, ThreadPoolExecutor(max_workers=workers) as pool:
        for images, failed in pool.map(lambda chunk: _decode_chunk(chunk, size, channels, background), chunks):
            for image in images:
                out.write(image.tobytes())
            written += len(images)
            skipped += failed
            done += len(images) + len(failed)
            progress(done, len(files))
    return written, skipped


def cached_folder(root: Path, size: int, channels: int, background: str = "white",
                  progress: Progress = lambda done, total: None, workers: int = 0) -> CachedFolder:
    """The folder in the cache, decoded first when it (or the settings) changed since it was last decoded."""
    rgb = colour_setting("data.background", background)
    listing = Listing.of(root)
    if not listing.files:
        raise DataError(f"no images (png, jpg, ...) found in {root}")
    folder = cache_dir() / "folders"
    folder.mkdir(parents=True, exist_ok=True)
    key = listing.key(size, channels, rgb)
    meta_path, data_path = folder / f"{key}.json", folder / f"{key}.u8"
    started = time.monotonic()
    meta = _read_meta(meta_path, data_path)
    decoded = meta is None
    if decoded:
        partial = folder / f".{key}.{os.getpid()}.u8"
        try:
            files = [root / name for name in listing.files]
            count, failed = _decode_into(partial, files, size, channels, rgb, progress, workers or usable_cores())
            os.replace(partial, data_path)
        finally:
            partial.unlink(missing_ok=True)
        meta = {"root": str(root), "shape": [count, channels, size, size], "files": len(listing.files),
                "skipped": [{"file": str(p.relative_to(root)), "why": why} for p, why in failed]}
        write_atomically(meta_path, json.dumps(meta, indent=1))
    unread = {entry["file"] for entry in meta["skipped"]}
    cached = CachedFolder(data_path, tuple(meta["shape"]), meta["skipped"],
                          time.monotonic() - started if decoded else 0.0,
                          tuple(name for name in listing.files if name not in unread))
    if cached.shape[0] == 0:
        first = cached.skipped[0]
        raise DataError(f"none of the {len(listing.files)} image files in {root} could be read "
                        f"(the first, {first['file']}: {first['why']})")
    return cached


def _read_meta(meta_path: Path, data_path: Path) -> dict | None:
    """A cached folder's description, if it is whole (its data file as long as its shape says)."""
    try:
        meta = json.loads(meta_path.read_text())
        whole = data_path.stat().st_size == int(np.prod(meta["shape"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta if whole else None


@dataclass(frozen=True)
class FolderLabels:
    """A folder's classes (data.labels): which images have a label, that label, and the classes' names."""

    kept: np.ndarray  # indices of the labelled images
    labels: np.ndarray  # their class, an index into classes
    classes: tuple[str, ...]  # sorted names

    def describe(self, total: int) -> str:
        left = total - len(self.kept)
        return f"{len(self.classes)} classes" + (f", {left} images without a label left out" if left else "")


def folder_labels(names: tuple[str, ...], setting: str, root: Path) -> FolderLabels:
    """The class of each image: its first subfolder ("folders"), or its row in a CSV file of file,class rows
    (a header row, if any, is read as one that names no file)."""
    if setting == "folders":
        named = {name: name.split("/", 1)[0] for name in names if "/" in name}
        if not named:
            raise DataError(f"data.labels = folders, but the images of {root} are not in subfolders")
    else:
        named = _csv_labels(Path(setting).expanduser(), root)
    classes = tuple(sorted(set(named[name] for name in names if name in named)))
    if not classes:
        raise DataError(f"none of the {len(names)} images of {root} is named in {setting}")
    index = {name: i for i, name in enumerate(classes)}
    kept = np.array([i for i, name in enumerate(names) if name in named], np.int64)
    return FolderLabels(kept, np.array([index[named[names[i]]] for i in kept], np.int64), classes)


def _csv_labels(path: Path, root: Path) -> dict[str, str]:
    if not path.is_absolute() and not path.exists():
        path = root / path
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [row for row in csv.reader(f) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read the labels file {path}: {exc}") from None
    bad = next((i for i, row in enumerate(rows, 1) if len(row) != 2 or not row[1].strip()), None)
    if bad is not None:
        raise DataError(f"{path}, line {bad}: expected two columns, file,class; got {rows[bad - 1]!r}")
    return {file.strip().replace(os.sep, "/"): label.strip() for file, label in rows}
