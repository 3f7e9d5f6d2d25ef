"""How D's signal fares from stage to stage: for a checkpoint, the mean |activation| after each of D's
nonlinearities and its spread across images (the mean over units of the standard deviation over a batch),
on 64 training reals and 64 fakes of G, in eval mode; then the scores. An SN-GAN D (no BatchNorm) that went
blind at 64 px shows the signal shrinking at every stage until the last layer's bias is most of the score;
a BatchNorm D keeps each stage at unit scale.

Not a test (pytest does not collect it). From the repository root:

    python tests/benchmarks/d_activations.py RUN/checkpoints/last.pt
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.tools.sample_eval import restore_trainer  # noqa: E402
from core.training.models import eval_mode, latent  # noqa: E402


def stages(D: nn.Module, images: torch.Tensor) -> list[tuple[str, float, float]]:
    """(layer, mean |activation|, spread across images) after every nonlinearity and at the score."""
    rows, h = [], images
    for i, layer in enumerate(D.net):
        h = layer(h)
        if isinstance(layer, nn.LeakyReLU) or i == len(D.net) - 1:
            flat = h.flatten(1).float()
            rows.append((f"{i}", flat.abs().mean().item(), flat.std(0).mean().item()))
    return rows


@torch.no_grad()
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("--n", type=int, default=64)
    args = parser.parse_args()
    trainer, cfg = restore_trainer(args.checkpoint, "cpu")
    generator = torch.Generator().manual_seed(0)
    real = trainer.data.sample(args.n, generator, slice(None)).float()
    fake = trainer.generate(latent(cfg.model, args.n, generator)).float()
    print(f"step {trainer.step}: D {cfg.model.discriminator}, depth {cfg.model.d_depth}, width {cfg.model.d_width}, "
          f"{cfg.data.image_size} px; each stage: mean |a| / spread across images")
    with eval_mode(trainer.D):
        for name, images in (("real", real), ("fake", fake)):
            rows = stages(trainer.D, images)
            print(f"{name:5s}", "  ".join(f"{layer}:{mag:.3f}/{spread:.3f}" for layer, mag, spread in rows))
        scores = [trainer.D(images).float() for images in (real, fake)]
    print(f"mean D(real) {scores[0].mean():.3f} (sd {scores[0].std():.3f}), "
          f"mean D(fake) {scores[1].mean():.3f} (sd {scores[1].std():.3f})")


if __name__ == "__main__":
    main()
