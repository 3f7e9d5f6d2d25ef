"""The Trainer: models, optimizers, data and RNG, the settings in force, and one training step that never
syncs with the device."""
from __future__ import annotations

import copy
import dataclasses

import torch

from core.base.cpu import free_cores, usable_cores
from core.base.errors import ConfigError
from core.config import (Config, augment_policies, check_loss, check_lr, check_margin, check_n_dis, check_threads,
                         from_dict, settings_of, with_settings)
from core.distributed.batchnorm import AllReduceBatchNorm2d
from core.distributed.world import ONE_PROCESS, World, check_world
from core.training.adam import Adam
from core.training.augment import augment
from core.training.checkpoint import load_module_state
from core.training.compat import lerp_all_
from core.training.data import load_dataset
from core.training.losses import LOSSES
from core.training.models import build_models, eval_mode, init_weights, latent, latent_labels
from core.training.spectral import canonical_parameters, normalized_layers, set_spectral_norm, switch_spectral_norm
from core.training.speedups import FastPath, resolve_precision
from core.training.statistics import StepStatistics


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but no CUDA device is available (use --device cpu or auto)")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def initial_threads(cfg: Config, world: World, device: torch.device) -> int:
    """train.threads, or (0) as many as the cores other processes leave free now, so that a busy machine's
    first steps do not wait on a shared core; several processes on one machine share its cores out."""
    if cfg.train.threads:
        return cfg.train.threads
    if world.distributed or device.type != "cpu":
        return world.default_threads(usable_cores())
    return free_cores()


def make_optimizer(params, lr: float, cfg: Config, device: torch.device):
    """Adam: torch's fused kernel on CUDA; on the CPU the same maths as torch's, without importing its compiler."""
    betas = (float(cfg.optim.beta1), float(cfg.optim.beta2))  # torch 2.14 refuses integer betas
    if device.type == "cuda":
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    return Adam(params, lr=lr, betas=betas)


@torch.no_grad()
def update_average(average: torch.nn.Module, model: torch.nn.Module, g_ema: float, step: int) -> None:
    """One step of G's moving average. The decay ramps up from 0.1 so that early samples are not dominated by
    the random init: (1 + t) / (10 + t) reaches 0.99 at step 890 and 0.999 only at step 8,990, so a g_ema
    near 1 averages ~t/9 steps until then."""
    decay = min(g_ema, (1 + step) / (10 + step))
    lerp_all_(list(average.parameters()), list(model.parameters()), 1.0 - decay)
    for mine, current in zip(average.buffers(), model.buffers()):
        mine.copy_(current)


class Trainer:
    """One process's trainer. `cfg` is the recipe the run started from; `settings` are the steerable
    settings in force now. In a world of several processes (core.distributed) every rank draws the global
    batch's z, data and shifts from the same generator and trains on its rows; DDP averages the gradients
    and BatchNorm normalizes over the global batch, so the maths is the one process's."""

    def __init__(self, cfg: Config, device: str | torch.device = "auto", world: World = ONE_PROCESS):
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.world = world
        check_world(cfg, world.size)
        self.rows = world.rows(cfg.train.batch_size)  # this rank's rows of every global batch
        threads = initial_threads(cfg, world, self.device)
        check_threads(threads)
        torch.set_num_threads(threads)
        seed = cfg.train.seed
        torch.manual_seed(seed)
        self.generator = torch.Generator(self.device).manual_seed(seed)
        self.view_generator = torch.Generator(self.device).manual_seed(seed + 1)  # for views only, never training
        self.data = load_dataset(cfg.data, cfg.train.batch_size, self.device)
        if cfg.model.classes:
            self.data.check_labels(cfg.model.classes)
        self.cfg, self.precision_why = resolve_precision(cfg, self.data.kind, self.device)
        self.settings = settings_of(self.cfg, threads)
        self.augment_policies = augment_policies(self.settings.augment)
        self.G, self.D = build_models(cfg, AllReduceBatchNorm2d if world.distributed else torch.nn.BatchNorm2d)
        init_weights(self.G)
        init_weights(self.D)
        self.G.to(self.device)
        self.D.to(self.device)
        set_spectral_norm(self.D, self.settings.spectral_norm)
        self.fast = FastPath(self.G, self.D, self.cfg, self.data.kind, self.device, world)
        self.opt_g = make_optimizer(canonical_parameters(self.G), self.settings.lr_g, cfg, self.device)
        self.opt_d = make_optimizer(canonical_parameters(self.D), self.settings.lr_d, cfg, self.device)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if cfg.train.g_ema else None
        self.d_loss_fn, self.g_loss_fn = LOSSES[self.settings.loss]
        self.fixed_z = latent(cfg.model, cfg.train.n_fixed, torch.Generator().manual_seed(seed + 2),
                              balanced=True).to(self.device)
        self.step = 0
        self.stats = StepStatistics(self.device, world)

    @property
    def threads(self) -> int:
        return self.settings.threads

    @property
    def speedups(self) -> str:
        return self.fast.describe()

    # --- the training step -------------------------------------------------------------------

    def _z(self, n: int) -> torch.Tensor:
        """This rank's rows of n latent vectors."""
        return latent(self.cfg.model, n, self.generator, self.device)[self.rows]

    def _real(self, n: int):
        """This rank's rows of n real images, and their labels for a class-conditional D (else None)."""
        if self.cfg.model.classes:
            real, labels = self.data.sample_labelled(n, self.generator, self.rows)
        else:
            real, labels = self.data.sample(n, self.generator, self.rows), None
        return real.contiguous(memory_format=self.fast.memory_format), labels

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        return augment(images, self.augment_policies, self.generator, batch=self.cfg.train.batch_size, rows=self.rows)

    def _scores(self, real, fake, real_labels, fake_labels):
        """D on (augmented) real and fake: one forward on the concatenated batch unless D has BatchNorm."""
        real, fake = self._augment(real), self._augment(fake)
        if self.D.has_batch_norm:
            return self.fast.run_D(real, real_labels), self.fast.run_D(fake, fake_labels)
        labels = None if real_labels is None else torch.cat([real_labels, fake_labels])
        return self.fast.run_D(torch.cat([real, fake]), labels).split([len(real), len(fake)])

    def train_step(self) -> None:
        self.fast.before_step()
        if not self.fast.first_compiled_step:
            self._step()
            return
        before, recorded = copy.deepcopy(self.state_dict()), len(self.stats)
        try:
            self._step()
            self.fast.compile_state = "compiled"
        except Exception as exc:  # noqa: BLE001 - any compiler failure; a genuine error recurs in the eager step
            self.load_state_dict(before)
            self.stats.forget_since(recorded)
            self.fast.compiler_failed(exc)
            self._step()

    def _step(self) -> None:
        s, batch = self.settings, self.cfg.train.batch_size
        self.D.requires_grad_(True)
        for i in range(s.n_dis):
            real, real_labels = self._real(batch)
            z = self._z(batch)
            fake_labels = latent_labels(self.cfg.model, z)
            with self.fast.autocast():
                with torch.set_grad_enabled(i == s.n_dis - 1):  # the last fake batch also serves G's step
                    fake = self.fast.run_G(z)
                d_real, d_fake = self._scores(real, fake.detach(), real_labels, fake_labels)
            real_loss, fake_loss = self.d_loss_fn(d_real.float(), d_fake.float(), s.margin_real, s.margin_fake)
            self.opt_d.zero_grad(set_to_none=True)
            (real_loss + fake_loss).backward()
            self.opt_d.step()

        self.D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        critic = self.D if self.world.distributed else self.fast.run_D  # DDP would wait for D's gradients
        with self.fast.autocast():
            d_fake_for_g = critic(self._augment(fake), fake_labels)
        g_loss = self.g_loss_fn(d_fake_for_g.float())
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        if self.G_ema is not None:
            update_average(self.G_ema, self.G, self.cfg.train.g_ema, self.step)
        self.stats.record(d_real.detach().float(), d_fake.detach().float(), real_loss, fake_loss, g_loss.detach(),
                          s.margin_real, s.margin_fake)
        self.step += 1

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator samples come from: the moving average of G when train.g_ema is on, else G."""
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def generate(self, z: torch.Tensor, average: bool = True) -> torch.Tensor:
        """Samples for z in eval mode (BatchNorm running statistics), without touching training state; from
        the sampling generator (the moving average, when on), or with average=False from G itself."""
        module = self.sampler if average else self.G
        with eval_mode(module):
            return module(z.to(self.device))

    def drain_statistics(self):
        """Steps, wall times and scalar series recorded since the last drain (core.training.statistics)."""
        return self.stats.drain(self.step)

    # --- changing the settings in force ------------------------------------------------------

    # Each setter checks its values first (ConfigError names a bad one, and nothing changes), then returns
    # the values now in force, as the run's record echoes them.

    def set_threads(self, threads: int) -> dict:
        check_threads(threads)
        torch.set_num_threads(threads)
        self._set(threads=threads)
        return {"threads": threads}

    def set_margins(self, margin_real: float, margin_fake: float) -> dict:
        check_margin("margin_real", margin_real)
        check_margin("margin_fake", margin_fake)
        self._set(margin_real=float(margin_real), margin_fake=float(margin_fake))
        return {"margin_real": self.settings.margin_real, "margin_fake": self.settings.margin_fake}

    def set_spectral_norm(self, enabled: bool) -> dict:
        switched = self._switch_spectral_norm(bool(enabled))
        return {"enabled": self.settings.spectral_norm, "layers": normalized_layers(self.D),
                "adam_moments_reset": switched}

    def set_learning_rates(self, lr_g: float | None = None, lr_d: float | None = None) -> dict:
        """Either rate, or both (None keeps one as it is)."""
        rates = {name: value for name, value in (("lr_g", lr_g), ("lr_d", lr_d)) if value is not None}
        for name, value in rates.items():
            check_lr(name, value)  # all checked before any applied
        self._set(**{name: float(value) for name, value in rates.items()})
        self._adopt_learning_rates()
        return {"lr_g": self.settings.lr_g, "lr_d": self.settings.lr_d}

    def set_loss(self, loss: str) -> dict:
        check_loss(loss)
        self._set(loss=loss)
        self.d_loss_fn, self.g_loss_fn = LOSSES[loss]
        self.fast.retrace()
        return {"loss": self.settings.loss}

    def set_n_dis(self, n_dis: int) -> dict:
        check_n_dis(n_dis)
        self._set(n_dis=n_dis)
        self.fast.retrace()
        return {"n_dis": self.settings.n_dis}

    def set_augment(self, policies: str) -> dict:
        """DiffAugment's policies before D from the next step on: "off" or names joined by commas."""
        chosen = augment_policies(policies)
        if chosen and self.cfg.is_2d:
            raise ConfigError("augmentation transforms images; a 2D run has none")
        self.augment_policies = chosen
        self._set(augment=",".join(chosen) or "off")
        return {"policies": self.settings.augment}

    def _set(self, **changes) -> None:
        self.settings = dataclasses.replace(self.settings, **changes)

    def _adopt_learning_rates(self) -> None:
        """The optimizers take the learning rates in force, and the recipe's betas (torch's optimizer load
        restores the saved ones)."""
        betas = (float(self.cfg.optim.beta1), float(self.cfg.optim.beta2))
        for opt, lr in ((self.opt_g, self.settings.lr_g), (self.opt_d, self.settings.lr_d)):
            for group in opt.param_groups:
                group["lr"], group["betas"] = float(lr), betas

    def _switch_spectral_norm(self, enabled: bool) -> list[str]:
        switched = switch_spectral_norm(self.D, self.opt_d, enabled)
        self._set(spectral_norm=enabled)
        self.fast.retrace()
        self.fast.rewrap()
        return switched

    # --- state for checkpoints ----------------------------------------------------------------

    def state_dict(self) -> dict:
        rng = {"torch": torch.get_rng_state(), "generator": self.generator.get_state(),
               "view_generator": self.view_generator.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "step": self.step,
            "config": with_settings(self.cfg, self.settings).to_dict(),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            **({"G_ema": self.G_ema.state_dict()} if self.G_ema is not None else {}),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sn_layers": normalized_layers(self.D),
            "fixed_z": self.fixed_z.cpu(),
            "rng": rng,
        }

    def load_state_dict(self, state: dict) -> None:
        """A checkpoint's weights, optimizers and random state; the settings in force stay in force (a
        resume's changes take effect over the saved ones)."""
        set_spectral_norm(self.D, True, layers=set(state["sn_layers"]))
        load_module_state(self.G, state["G"], "generator")
        load_module_state(self.D, state["D"], "discriminator")
        if self.G_ema is not None:  # a checkpoint from before the average was switched on starts it from G
            load_module_state(self.G_ema, state.get("G_ema", state["G"]), "generator average")
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.fixed_z = state["fixed_z"].to(self.device)
        self.step = int(state["step"])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        self.generator.set_state(rng["generator"])
        self.view_generator.set_state(rng["view_generator"])
        if self.device.type == "cuda" and "cuda" in rng:
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self._adopt_learning_rates()
        if self.settings.spectral_norm != bool(normalized_layers(self.D)):
            self._switch_spectral_norm(self.settings.spectral_norm)
        self.fast.rewrap()

    def rewind(self, state: dict) -> None:
        """Back to a checkpoint of this run, with the settings it was saved with (the thread count stays)."""
        self.settings = settings_of(from_dict(state["config"]), self.settings.threads)
        self.d_loss_fn, self.g_loss_fn = LOSSES[self.settings.loss]
        self.augment_policies = augment_policies(self.settings.augment)
        self.load_state_dict(state)
        self.stats.drain(self.step)
        self.stats.drain_scores(self.step)
