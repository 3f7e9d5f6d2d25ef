"""What switching spectral norm mid-run does to D's next steps, with Adam's moments kept or reset.

Not a test. From the repository root:

    python tests/benchmarks/sn_switch.py --preset digits --steps 300

Trains the preset, switches spectral norm (off, then on again later), and prints, for the steps just
after each switch, the size of D's weight update relative to the weight (||dW|| / ||W||, the largest
over layers) against the median of the steps before it, with the moments kept and with them reset.
"""
import argparse
import statistics

import torch

from core.protocol import commands as C
from core.config import resolve
from core.training.trainer import Trainer
from core.training.spectral import normalizable_layers


def weights(trainer):
    return {name: (layer.parametrizations.weight.original if hasattr(layer, "parametrizations") else layer.weight)
            .detach().clone() for name, layer in normalizable_layers(trainer.D).items()}


def relative_updates(trainer, steps):
    sizes = []
    for _ in range(steps):
        before = weights(trainer)
        trainer.train_step()
        after = weights(trainer)
        sizes.append(max(float((after[k] - before[k]).norm() / before[k].norm()) for k in before))
    return sizes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for keep in (True, False):
        trainer = Trainer(resolve(args.preset, overrides=["train.threads=1"]), "cpu")
        relative_updates(trainer, args.steps)
        for enabled in (not trainer.settings.spectral_norm, trainer.settings.spectral_norm):
            typical = statistics.median(relative_updates(trainer, 20))
            saved = {p: dict(s) for p, s in trainer.opt_d.state.items()}
            trainer.set_spectral_norm(enabled)
            if keep:
                trainer.opt_d.state.update(saved)  # what the engine did before: moments carried over
            after = relative_updates(trainer, 5)
            print(f"moments {'kept ' if keep else 'reset'}, spectral norm -> {'on ' if enabled else 'off'}: "
                  f"median step before {typical:.2e}; the 5 steps after, relative to it: "
                  + ", ".join(f"{a / typical:.1f}x" for a in after), flush=True)
            relative_updates(trainer, args.steps // 3)


if __name__ == "__main__":
    main()
