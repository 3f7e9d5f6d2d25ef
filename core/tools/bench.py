"""`hinge-train bench`: the engine's training step against the textbook loop, side by side.

The reference is the textbook hinge-GAN loop written the plain way: a DataLoader, separate D(real)
and D(fake) forwards, a second G forward for the generator step, and six `.item()` statistics per
step. Both start from the same weights and run in interleaved rounds in one process.
"""
from __future__ import annotations

import copy
import json
import resource
import statistics
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from core.base.errors import UserError
from core.config import resolve
from core.training.losses import LOSSES
from core.training.models import latent, latent_labels
from core.training.trainer import Trainer


class ReferenceLoop:
    """The textbook training loop, kept deliberately plain."""

    def __init__(self, trainer: Trainer):
        cfg = trainer.cfg
        self.cfg, self.device = cfg, trainer.device
        self.G, self.D = copy.deepcopy(trainer.G), copy.deepcopy(trainer.D)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.optim.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.optim.lr_d, betas=betas)
        self.d_loss_fn, self.g_loss_fn = LOSSES[cfg.loss.kind]
        data = trainer.data
        if data.kind == "images":
            real = data.images.float().cpu() / 127.5 - 1
        else:
            real = data.sample(16384, torch.Generator(trainer.device).manual_seed(0)).cpu()
        labelled = (real, data.labels.cpu()) if cfg.model.classes else (real,)  # a class-conditional D needs them
        self.loader = DataLoader(TensorDataset(*labelled), batch_size=cfg.train.batch_size, shuffle=True,
                                 drop_last=True)
        self.batches = iter(self.loader)
        self.info = {}

    def _next(self):
        """The next real batch and its labels (None for an unconditional D)."""
        try:
            batch = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            batch = next(self.batches)
        return batch[0].to(self.device), batch[1].to(self.device) if len(batch) > 1 else None

    def train_step(self) -> None:
        cfg = self.cfg
        for _ in range(cfg.train.n_dis):
            real, labels = self._next()
            self.opt_d.zero_grad()
            d_real = self.D(real, labels)
            z = latent(cfg.model, len(real), device=self.device)
            d_fake = self.D(self.G(z).detach(), latent_labels(cfg.model, z))
            real_loss, fake_loss = self.d_loss_fn(d_real, d_fake, cfg.loss.margin_real, cfg.loss.margin_fake)
            (real_loss + fake_loss).backward()
            self.opt_d.step()
            self.info = {
                "real_loss": real_loss.item(), "fake_loss": fake_loss.item(),
                "d_real": d_real.mean().item(), "d_fake": d_fake.mean().item(),
                "real_margin_violations": (d_real < cfg.loss.margin_real).float().mean().item(),
                "fake_margin_violations": (d_fake > -cfg.loss.margin_fake).float().mean().item(),
            }
        self.opt_g.zero_grad()
        z = latent(cfg.model, cfg.train.batch_size, device=self.device)
        g_loss = self.g_loss_fn(self.D(self.G(z), latent_labels(cfg.model, z)))
        g_loss.backward()
        self.opt_g.step()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_steps(step, n: int, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    for _ in range(n):
        step()
    _sync(device)
    return n / (time.perf_counter() - start)


def _drain(trainer: Trainer) -> None:
    trainer.drain_statistics()
    trainer.stats.drain_scores(trainer.step)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def benchmark(cfg, device="auto", rounds: int = 5, steps_per_round: int | None = None, out=print) -> dict:
    trainer = Trainer(cfg, device)
    reference = ReferenceLoop(trainer)
    for loop in (trainer.train_step, reference.train_step):  # warm-up (allocator, cudnn autotune, compiling)
        _time_steps(loop, 3, trainer.device)
    if steps_per_round is None:  # about a second per round on either side
        probe = _time_steps(trainer.train_step, 3, trainer.device)
        steps_per_round = max(5, min(2000, int(probe)))
    engine_rates, reference_rates = [], []
    out(f"{cfg.preset} on {trainer.device} ({trainer.speedups}): batch {cfg.train.batch_size}, "
        f"{steps_per_round} steps a round")
    out(f"{'round':>5} {'engine steps/s':>15} {'reference steps/s':>18} {'ratio':>7}")
    for r in range(rounds):
        engine_rates.append(_time_steps(trainer.train_step, steps_per_round, trainer.device))
        _drain(trainer)
        reference_rates.append(_time_steps(reference.train_step, steps_per_round, trainer.device))
        out(f"{r + 1:>5} {engine_rates[-1]:>15.1f} {reference_rates[-1]:>18.1f} "
            f"{engine_rates[-1] / reference_rates[-1]:>7.2f}")
    engine, ref = statistics.median(engine_rates), statistics.median(reference_rates)
    batch = cfg.train.batch_size
    result = {
        "preset": cfg.preset, "device": str(trainer.device), "speedups": trainer.speedups, "batch_size": batch,
        "rounds": rounds, "steps_per_round": steps_per_round, "engine_steps_per_s": round(engine, 2),
        "reference_steps_per_s": round(ref, 2), "ratio": round(engine / ref, 3),
        "engine_samples_per_s": round(engine * batch, 1), "reference_samples_per_s": round(ref * batch, 1),
        "peak_memory_mb": round(peak_memory_mb(trainer.device), 1),
    }
    out(f"median: engine {engine:.1f} steps/s ({engine * batch:.0f} samples/s), reference {ref:.1f} steps/s, "
        f"ratio {engine / ref:.2f}; peak memory {result['peak_memory_mb']:.0f} MB")
    out(json.dumps(result))
    return result


def cmd_bench(args) -> int:
    if args.rounds < 1:
        raise UserError(f"--rounds must be at least 1, got {args.rounds}")
    cfg = resolve(args.preset, overrides=args.set)
    benchmark(cfg, args.device, args.rounds, args.steps_per_round)
    return 0
