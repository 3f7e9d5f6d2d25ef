"""An independent judge of generated digits: not the project's classifier (core/quality/features.py), so the
project cannot be graded by its own teacher.

A LeNet-style net (two 5x5 conv + max-pool stages, a 256-unit dense layer whose activations are the
features, dropout, ten classes), trained on its own split (seed 7) with shift-only augmentation. It
reports its held-out accuracy, and every Fréchet distance on its features comes with its floor: two
disjoint real sets of the same size. FD's floor is the bias of estimating 256-d covariances from 2,000
images, and it adds to every distance; KID on the same features is unbiased (its floor is about 0), so
its ratios between two generators are not pulled toward 1 the way FD's are.

    python tests/benchmarks/judge.py --preset mnist   # trains it and prints its accuracy and floor
    python tests/benchmarks/judge.py --preset mnist --samples S.npy   # and scores `hinge-train sample`'s S.npy
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.quality import metrics

SEED = 7
HELD_OUT = 4000  # judged on the first half; FD's real set and its floor set are the two halves


class LeNet(nn.Module):
    def __init__(self, channels: int = 1, n_classes: int = 10, image_size: int = 32):
        super().__init__()
        side = ((image_size - 4) // 2 - 4) // 2
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * side * side, 256), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(256, n_classes))

    def forward(self, x):
        return self.head(self.body(x))


def _unit(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(127.5).sub(1.0)


def early_sample_like(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Real digits in [-1, 1] made to look like a GAN's early samples: soft or blurred strokes, lower
    contrast, speckle and grain, so a judge trained on them reads a digit through those artefacts."""
    n = len(x)
    pick = lambda p: (torch.rand(n, 1, 1, 1, generator=generator) < p).float()  # noqa: E731
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), value=-1.0), 3, stride=1)
    x = torch.lerp(x, blurred, pick(0.5))
    contrast = 0.55 + 0.45 * torch.rand(n, 1, 1, 1, generator=generator)
    x = (x + 1) * contrast - 1
    grain = torch.randn(x.shape, generator=generator) * 0.25 * torch.rand(n, 1, 1, 1, generator=generator)
    speckle = (torch.rand(x.shape, generator=generator) < 0.04).float() * pick(0.5)
    return (x + grain + 1.6 * speckle).clamp(-1, 1)


class Judge:
    def __init__(self, images: torch.Tensor, labels: torch.Tensor, epochs: int = 15, robust: bool = False,
                 held_out: int = HELD_OUT):
        """Train on all but `held_out` images. The held-out images are split in two halves: FD's real set
        and the floor's second real set, both unseen in training, like generated images. robust: half of
        each batch made to look like early samples (early_sample_like)."""
        generator = torch.Generator().manual_seed(SEED)
        torch.manual_seed(SEED)
        order = torch.randperm(len(images), generator=generator)
        test, train = order[:held_out], order[held_out:]
        self.net = LeNet(images.shape[1], int(labels.max()) + 1, images.shape[-1])
        optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        for _ in range(epochs):
            self.net.train()
            for batch in train[torch.randperm(len(train), generator=generator)].split(128):
                shift = torch.randint(-2, 3, (2,), generator=generator).tolist()
                x = torch.roll(_unit(images[batch]), shifts=shift, dims=(2, 3))
                if robust:
                    half = len(x) // 2
                    x = torch.cat([x[:half], early_sample_like(x[half:], generator)])
                loss = F.cross_entropy(self.net(x), labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        self._settle(images, labels, test)

    @classmethod
    def cached(cls, images: torch.Tensor, labels: torch.Tensor, path: str, robust: bool = False) -> "Judge":
        """The judge trained once and kept at `path` (weights only); held-out split and floors as trained."""
        import os

        if not os.path.exists(path):
            judge = cls(images, labels, robust=robust)
            torch.save(judge.net.state_dict(), path)
            return judge
        judge = cls.__new__(cls)
        judge.net = LeNet(images.shape[1], int(labels.max()) + 1, images.shape[-1])
        judge.net.load_state_dict(torch.load(path, weights_only=True))
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SEED))
        judge._settle(images, labels, order[:HELD_OUT])
        return judge

    def _settle(self, images, labels, test) -> None:
        self.net.eval()
        self.prior = np.bincount(labels.numpy(), minlength=int(labels.max()) + 1)  # the data's class mix
        self.accuracy = float((self.probabilities(images[test]).argmax(1) == labels[test].numpy()).mean())
        reference, other = test.chunk(2)
        self.real, other_real = self.features(images[reference]), self.features(images[other])
        self.floor = metrics.frechet_distance(self.real, other_real)
        self.kid_floor = metrics.kernel_inception_distance(self.real, other_real)[0]
        read_real = metrics.class_coverage(self.probabilities(images[other]), self.prior)
        self.kl_floor = read_real["class_kl"]  # real images as the judge reads them

    @torch.no_grad()
    def _run(self, images: torch.Tensor, part) -> np.ndarray:
        return torch.cat([part(_unit(chunk)) for chunk in images.split(500)]).numpy()

    def features(self, images: torch.Tensor) -> np.ndarray:
        return self._run(images, self.net.body)

    def probabilities(self, images: torch.Tensor) -> np.ndarray:
        return self._run(images, lambda x: self.net(x).softmax(1))

    def score(self, images: torch.Tensor, asked: np.ndarray | None = None) -> dict:
        """uint8 (N, C, H, W) generated images -> FD on the judge's features (with its floor), classes; with
        asked (the classes a class-conditional G was asked for), the share the judge reads as asked."""
        probabilities = self.probabilities(images)
        coverage = metrics.class_coverage(probabilities, None if asked is not None else self.prior)
        read_as_asked = None if asked is None else float((probabilities.argmax(1) == asked).mean())
        features = self.features(images)
        return {"judge_fd": metrics.frechet_distance(self.real, features), "judge_fd_floor": self.floor,
                "judge_kid": metrics.kernel_inception_distance(self.real, features)[0],
                "judge_kid_floor": self.kid_floor, "judge_class_kl_floor": self.kl_floor,
                "judge_accuracy": self.accuracy, "judge_classes": coverage["classes_present"],
                "judge_class_kl": coverage["class_kl"], "judge_confident": coverage["confident_share"],
                "judge_asked": read_as_asked}


def main():
    from core.config import resolve
    from core.training.data import load_dataset
    from core.training.models import asked_classes

    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="mnist")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--samples", help="uint8 (N, H, W, C) images from `hinge-train sample` to score; a "
                                          "class-conditional G's cycle through the classes, as `sample` writes them")
    parser.add_argument("--classes", type=int, default=0, help="the samples' generator's model.classes")
    parser.add_argument("--held-out", type=int, default=HELD_OUT, help="images the judge is not trained on: "
                                                                         "its accuracy, FD's real set and floor")
    parser.add_argument("--robust", action="store_true", help="train the judge to read early samples' soft, "
                                                              "speckled strokes too")
    args = parser.parse_args()
    bank = load_dataset(resolve(args.preset, overrides=args.set).data, 64)
    judge = Judge(bank.images, bank.labels, robust=args.robust, held_out=args.held_out)
    print(f"{args.preset}: independent judge held-out accuracy {judge.accuracy:.2%} on {args.held_out} images, "
          f"FD floor (real vs real, {len(judge.real)} each) {judge.floor:.2f}, KID floor {judge.kid_floor:.2f}, "
          f"class KL of held-out reals to the data's mix {judge.kl_floor:.3f}")
    if args.samples:
        images = torch.from_numpy(np.load(args.samples)).permute(0, 3, 1, 2)
        asked = asked_classes(args.classes, len(images))
        print(json.dumps({"samples": len(images), **judge.score(images, asked)}))


if __name__ == "__main__":
    main()
