"""Feature extractors for image metrics: a small CNN classifier the project trains on a labeled
dataset and caches, or Inception-v3 from a local weights file. Nothing is downloaded.
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.base.errors import CheckpointError, DataError
from core.base.files import cache_dir
from core.config import assets_dir
from core.training.checkpoint import save_checkpoint

CLASSIFIER_VERSION = 2
HELD_OUT = 0.1


def _to_unit(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(127.5).sub(1.0)


class SmallCNN(nn.Module):
    """Three blocks of two 3x3 conv + BatchNorm + ReLU (max-pooled between blocks), global average
    pooling (the features: 128 numbers), one linear layer (the classes)."""

    def __init__(self, channels: int, n_classes: int, widths=(32, 64, 128)):
        super().__init__()
        layers, previous = [], channels
        for i, width in enumerate(widths):
            for _ in range(2):
                layers += [nn.Conv2d(previous, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
                previous = width
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(previous, n_classes)

    def forward(self, x):
        return self.head(self.body(x))


def build_without_global_rng(make: Callable[[], nn.Module]) -> nn.Module:
    """A module built on the meta device (so building draws nothing from torch's global RNG, which the
    training thread owns), then given real, uninitialized CPU storage."""
    with torch.device("meta"):
        module = make()
    return module.to_empty(device="cpu")


def init_classifier(net: SmallCNN, generator: torch.Generator) -> SmallCNN:
    """torch's default initialisation of conv and linear layers, drawn from `generator`."""
    for layer in net.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(layer.weight[0].numel())
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        elif isinstance(layer, nn.BatchNorm2d):
            layer.reset_running_stats()
            layer.reset_parameters()
    return net


class Classifier:
    """A SmallCNN trained on a labeled image set; features are its pooled activations."""

    name = "classifier"
    metric_suffix = "_cnn"  # metrics on these features are named so: fid_cnn is not Inception's FID

    def __init__(self, net: SmallCNN, accuracy: float, path: Path | None = None):
        self.net = net.eval()
        self.accuracy = accuracy
        self.path = path
        self.n_classes = net.head.out_features

    @property
    def device(self):
        return next(self.net.parameters()).device

    @torch.no_grad()
    def _run(self, images: torch.Tensor, part: Callable) -> np.ndarray:
        out = [part(_to_unit(chunk.to(self.device))).float().cpu() for chunk in images.split(500)]
        return torch.cat(out).numpy()

    def features(self, images: torch.Tensor) -> np.ndarray:
        """uint8 (N, C, H, W) -> (N, d) float features."""
        return self._run(images, self.net.body)

    def probabilities(self, images: torch.Tensor) -> np.ndarray:
        """uint8 (N, C, H, W) -> (N, classes) softmax."""
        return self._run(images, lambda x: self.net(x).softmax(1))

    def features_and_probabilities(self, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Both from one pass through the net."""
        both = self._run(images, lambda x: torch.cat([f := self.net.body(x), self.net.head(f).softmax(1)], 1))
        return both[:, :-self.n_classes], both[:, -self.n_classes:]

    def predict(self, images: torch.Tensor) -> np.ndarray:
        return self.probabilities(images).argmax(1)


def _fingerprint(images: torch.Tensor, labels: torch.Tensor) -> str:
    digest = hashlib.sha1()
    digest.update(np.ascontiguousarray(images.cpu().numpy()).tobytes())
    digest.update(np.ascontiguousarray(labels.cpu().numpy()).tobytes())
    digest.update(f"v{CLASSIFIER_VERSION}".encode())
    return digest.hexdigest()[:16]


def random_affine(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image shifted by up to 1/16 of its size, rotated by up to 10 degrees and scaled by up to 10%."""
    n = len(x)
    angle, scale = (torch.rand(2, n, generator=generator) - 0.5) * torch.tensor([[0.35], [0.2]])
    scale = scale + 1
    shift = (torch.rand(n, 2, generator=generator) - 0.5) * 0.25
    cos, sin = scale * angle.cos(), scale * angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="border")


def train_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 5, min_steps: int = 250, seed: int = 0,
                     should_stop: Callable[[], bool] = lambda: False,
                     progress: Callable[[float], None] = lambda done: None, partial: Path | None = None,
                     keep_every_s: float = 10.0) -> Classifier:
    """Train on all but a held-out tenth (each batch randomly shifted, rotated and scaled) for `epochs`
    epochs or min_steps batches, whichever is more, and measure accuracy on that tenth. `progress` hears the
    share done after every batch; with `partial`, the training so far is kept there at the end of an epoch
    (at most every keep_every_s) and taken up again from it, so a session that ends mid-training loses little.

    Measured: docs/quality.md (the classifier); tests/benchmarks/judge.py is an independent judge."""
    device = images.device
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images), generator=generator).to(device)
    n_test = max(1, int(len(images) * HELD_OUT))
    test, train = order[:n_test], order[n_test:]
    n_classes = int(labels.max()) + 1
    net = init_classifier(build_without_global_rng(lambda: SmallCNN(images.shape[1], n_classes)), generator)
    net = net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    batches_per_epoch = -(-len(train) // 128)
    epochs = max(epochs, -(-min_steps // batches_per_epoch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=epochs * batches_per_epoch)
    parts = {"net": net, "optimizer": optimizer, "schedule": schedule}
    first_epoch = _resume(partial, parts, generator)
    kept_at = time.monotonic()
    for epoch in range(first_epoch, epochs):
        for i, batch in enumerate(train[torch.randperm(len(train), generator=generator).to(device)].split(128)):
            if should_stop():
                raise InterruptedError("classifier training stopped")
            x = random_affine(_to_unit(images[batch]), generator)
            loss = F.cross_entropy(net(x), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            progress((epoch * batches_per_epoch + i + 1) / (epochs * batches_per_epoch))
        if partial is not None and epoch + 1 < epochs and time.monotonic() - kept_at >= keep_every_s:
            _keep_partial(partial, parts, generator, epoch + 1)
            kept_at = time.monotonic()
    classifier = Classifier(net, 0.0)
    predicted = classifier.predict(images[test])
    classifier.accuracy = float((predicted == labels[test].cpu().numpy()).mean())
    return classifier


def _resume(partial: Path | None, parts: dict, generator: torch.Generator) -> int:
    """The epoch to start from: 0, or where a kept partial training ended (its parts restored)."""
    if partial is None or not partial.is_file():
        return 0
    try:
        state = torch.load(partial, map_location="cpu", weights_only=True)
        for name, part in parts.items():
            part.load_state_dict(state[name])
        generator.set_state(state["generator"])
        return int(state["epochs_done"])
    except Exception:  # noqa: BLE001 - a damaged or outdated partial training is started over
        return 0


def _keep_partial(partial: Path, parts: dict, generator: torch.Generator, epochs_done: int) -> None:
    try:
        save_checkpoint({**{name: part.state_dict() for name, part in parts.items()},
                         "generator": generator.get_state(), "epochs_done": epochs_done}, partial)
    except OSError:
        pass  # an unwritable cache: an interrupted training starts over next time


def cached_classifier(images: torch.Tensor, labels: torch.Tensor) -> Path:
    """Where a classifier trained for this exact labeled set is kept."""
    return cache_dir() / "classifiers" / f"{_fingerprint(images, labels)}.pt"


def shipped_classifier(fingerprint: str) -> Path:
    """Where the package keeps a classifier it ships (the embedded digits': a new run is scored at once)."""
    return Path(str(assets_dir() / "classifiers" / f"{fingerprint}.pt"))


def _load_classifier(path: Path, channels: int, device) -> Classifier | None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = build_without_global_rng(lambda: SmallCNN(channels, state["n_classes"]))
        net.load_state_dict(state["weights"])
        return Classifier(net.to(device), state["accuracy"], path)
    except Exception:  # noqa: BLE001 - a missing, corrupt or outdated entry is retrained, not trusted
        return None


def load_or_train_classifier(images: torch.Tensor, labels: torch.Tensor,
                             should_stop: Callable[[], bool] = lambda: False,
                             log: Callable[[str], None] = lambda text: None,
                             progress: Callable[[float], None] = lambda done: None) -> Classifier:
    """The classifier for this exact labeled set: shipped with the package, cached from an earlier training,
    or trained now (taken up where an interrupted training left off) and cached."""
    fingerprint = _fingerprint(images, labels)
    path = cached_classifier(images, labels)
    for known in (shipped_classifier(fingerprint), path):
        if known.is_file() and (classifier := _load_classifier(known, images.shape[1], images.device)) is not None:
            return classifier
    log(f"training a classifier on {len(images)} labeled images for the image metrics (once; cached in {path.parent})")
    partial = path.with_suffix(".partial.pt")
    classifier = train_classifier(images, labels, should_stop=should_stop, progress=progress, partial=partial)
    partial.unlink(missing_ok=True)
    log(f"classifier held-out accuracy {classifier.accuracy:.2%}")
    try:
        save_classifier(classifier, path)
    except OSError:
        pass  # an unwritable cache costs a retrain next time, nothing else
    return classifier


def save_classifier(classifier: Classifier, path: Path) -> None:
    save_checkpoint({"weights": classifier.net.state_dict(), "n_classes": classifier.n_classes,
                     "accuracy": classifier.accuracy}, path)
    classifier.path = path


FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"  # as pytorch-fid and torch-fidelity distribute it


def fid_inception_state(path: Path) -> dict:
    """The FID Inception weights in `path` (TensorFlow's 2015-12-05 Inception converted to PyTorch: 1008
    classes, no auxiliary head), read without running any pickled code; CheckpointError for anything else."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"eval.inception: {path} is not a loadable weights file ({exc.__class__.__name__}); "
                              f"expected the FID Inception weights, {FID_WEIGHTS}") from None
    fc = state.get("fc.weight") if isinstance(state, dict) else None
    if fc is None or tuple(fc.shape) != (1008, 2048) or any(str(k).startswith("AuxLogits") for k in state):
        what = ("torchvision's ImageNet Inception-v3 (1000 classes), whose features do not give the FID of papers"
                if fc is not None and tuple(fc.shape) == (1000, 2048) else "not Inception-v3 weights")
        raise CheckpointError(f"eval.inception: {path} is {what}; expected the FID Inception weights, {FID_WEIGHTS} "
                              "(as pytorch-fid and torch-fidelity distribute it)")
    return state


class InceptionFeatures:
    """FID's features: the 2048-d pool of the FID Inception network, run by torch-fidelity's own extractor
    (its TensorFlow-compatible resize to 299 px and normalization), from a local weights file."""

    name = "inception-v3-fid"
    metric_suffix = ""  # fid, kid, precision, recall: comparable with papers (at 50,000 samples)
    accuracy = None
    n_classes = 0

    def __init__(self, weights_path: str, device):
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise DataError(f"eval.inception: no weights file at {path}")
        fid_inception_state(path)  # checked safely first: torch-fidelity itself unpickles without weights_only
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError:
            raise DataError("eval.inception needs torch-fidelity: pip install 'hinge-workbench[fid]' "
                            "(or pip install torch-fidelity)") from None
        self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                               feature_extractor_weights_path=str(path)).to(device)
        self.path = path

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        """uint8 (N, C, H, W), C 1 or 3, any size -> (N, 2048)."""
        device = next(self.net.parameters()).device
        out = [self.net(chunk.to(device).expand(-1, 3, -1, -1).contiguous())[0].cpu() for chunk in images.split(50)]
        return torch.cat(out).numpy()
