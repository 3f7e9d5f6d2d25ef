"""The Trainer: models, optimizers, data and RNG, and one training step that never syncs with the device."""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import time
import warnings

import numpy as np
import torch

from core import commands as C
from core.augment import translate
from core.config import COMPILE_MODES, Config, check_lr, check_margin, check_n_dis, check_threads, from_dict
from core.data import load_dataset
from core.distributed import ONE_PROCESS, AllReduceBatchNorm2d, World, check_world, sum_over_ranks_
from core.errors import ConfigError
from core.losses import LOSSES, step_statistics
from core.models import build_models, eval_mode, init_weights, latent, latent_labels
from core.spectral import (canonical_parameters, is_normalized, normalizable_layers, normalized_layers,
                           set_spectral_norm)
from core.telemetry import STAT_NAMES, Settings
from core.threads import usable_cores

HIST_BINS = 80
HIST_RANGE = (-5.0, 5.0)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but no CUDA device is available (use --device cpu or auto)")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def bf16_is_native() -> bool:
    """Whether this CPU has bf16 dot-product instructions (AVX512-BF16 or AMX). With them bf16 autocast
    trains the image presets 1.7x as fast as fp32; without them bf16 is emulated, ten times slower."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def compile_module(module: torch.nn.Module, how: str):
    """torch.compile with a mode name, or with a backend name (e.g. cudagraphs, aot_eager)."""
    if how in COMPILE_MODES:
        return torch.compile(module, mode=how)
    return torch.compile(module, backend=how)


def _root_cause(exc: BaseException) -> str:
    while (inner := getattr(exc, "inner_exception", None) or exc.__cause__) is not None:
        exc = inner  # torch.compile wraps the compiler's own error
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__


def make_optimizer(params, lr: float, cfg: Config, device: torch.device):
    betas = (float(cfg.optim.beta1), float(cfg.optim.beta2))  # torch 2.14 refuses integer betas
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type == "cuda")


class Trainer:
    """One process's trainer. In a world of several processes (core.distributed) every rank draws the
    global batch's z, data and shifts from the same generator and trains on its rows; DDP averages the
    gradients and BatchNorm normalizes over the global batch, so the maths is the one process's."""

    def __init__(self, cfg: Config, device: str | torch.device = "auto", world: World = ONE_PROCESS):
        self.cfg = cfg
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.world = world
        check_world(cfg, world.size)
        self.rows = world.rows(cfg.train.batch_size)  # this rank's rows of every global batch
        self.threads = 0
        self.set_threads(cfg.train.threads or world.default_threads(usable_cores()))
        seed = cfg.train.seed
        torch.manual_seed(seed)
        self.generator = torch.Generator(self.device).manual_seed(seed)
        self.view_generator = torch.Generator(self.device).manual_seed(seed + 1)  # for views only, never training
        self.data = load_dataset(cfg.data, cfg.train.batch_size, self.device)
        if cfg.model.classes:
            self.data.check_labels(cfg.model.classes)
        self.G, self.D = build_models(cfg, AllReduceBatchNorm2d if world.distributed else torch.nn.BatchNorm2d)
        init_weights(self.G)
        init_weights(self.D)
        self.G.to(self.device)
        self.D.to(self.device)
        set_spectral_norm(self.D, cfg.model.spectral_norm)
        self._set_up_fast_path()
        self.opt_g = make_optimizer(canonical_parameters(self.G), cfg.optim.lr_g, cfg, self.device)
        self.opt_d = make_optimizer(canonical_parameters(self.D), cfg.optim.lr_d, cfg, self.device)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if cfg.train.g_ema else None
        self.d_loss_fn, self.g_loss_fn = LOSSES[cfg.loss.kind]
        self.fixed_z = latent(cfg.model, cfg.train.n_fixed, torch.Generator().manual_seed(seed + 2),
                              balanced=True).to(self.device)
        self.step = 0
        self._pending_stats: list[torch.Tensor] = []
        self._pending_times: list[float] = []
        self.hist_edges = np.linspace(*HIST_RANGE, HIST_BINS + 1)
        self._hist_real = torch.zeros(HIST_BINS, device=self.device)
        self._hist_fake = torch.zeros(HIST_BINS, device=self.device)
        self._unsynced = 0  # steps recorded since the ranks last summed their statistics

    # --- device-specific speed-ups -------------------------------------------------------------

    def _set_up_fast_path(self) -> None:
        t, cuda = self.cfg.train, self.device.type == "cuda"
        if cuda:
            torch.backends.cudnn.benchmark = t.cudnn_benchmark
        if t.precision == "auto":  # becomes its choice, so config.json records what is trained
            chosen = "bf16" if self.data.kind == "images" and not cuda and bf16_is_native() else "fp32"
            t = dataclasses.replace(t, precision=chosen)
            self.cfg = dataclasses.replace(self.cfg, train=t)
        self.memory_format = torch.contiguous_format
        if self.data.kind == "images" and (t.channels_last == "on" or (t.channels_last == "auto" and cuda)):
            self.memory_format = torch.channels_last
            self.G.to(memory_format=self.memory_format)
            self.D.to(memory_format=self.memory_format)
        self.compile_state = "off"
        self._run_G, self._run_D = self.G, self.D
        self._needs_wrapping = self.world.distributed
        if t.compile != "off":
            self._run_G, self._run_D = compile_module(self.G, t.compile), compile_module(self.D, t.compile)
            self.compile_state = "untried"  # torch.compile fails, if at all, at the first call

    def _wrap_for_ranks(self) -> None:
        """DDP wrappers, built at a step, where every rank builds them together (construction is a
        collective); rebuilt after spectral norm changes D's parameters. Buffers are not broadcast at each
        forward: every rank computes the same ones, and D runs twice before a backward."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        self._run_G, self._run_D = (torch.nn.parallel.DistributedDataParallel(m, device_ids=ids,
                                                                               forward_sync_buffers=False)
                                    for m in (self.G, self.D))
        self._needs_wrapping = False

    def _recompile_carefully(self) -> None:
        """After a change that makes torch.compile trace again, guard the next step as the first one was."""
        if self.compile_state == "compiled":
            self.compile_state = "untried"

    def _autocast(self):
        if self.cfg.train.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @property
    def speedups(self) -> str:
        """The speed options in force, for the Run dock and run info."""
        t = self.cfg.train
        parts = [t.precision]
        if self.memory_format is torch.channels_last:
            parts.append("channels_last")
        if self.device.type == "cuda" and t.cudnn_benchmark:
            parts.append("cudnn.benchmark")
        if t.compile != "off":
            parts.append(f"compile {t.compile}: {self.compile_state}")
        return ", ".join(parts)

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
        return real.contiguous(memory_format=self.memory_format), labels

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        if self.cfg.train.augment == "translation":
            return translate(images, self.generator, batch=self.cfg.train.batch_size, rows=self.rows)
        return images

    def _scores(self, real, fake, real_labels, fake_labels):
        """D on (augmented) real and fake: one forward on the concatenated batch unless D has BatchNorm."""
        real, fake = self._augment(real), self._augment(fake)
        if self.D.has_batch_norm:
            return self._run_D(real, real_labels), self._run_D(fake, fake_labels)
        labels = None if real_labels is None else torch.cat([real_labels, fake_labels])
        return self._run_D(torch.cat([real, fake]), labels).split([len(real), len(fake)])

    def train_step(self) -> None:
        if self._needs_wrapping:
            self._wrap_for_ranks()
        if self.compile_state == "untried":
            self._first_compiled_step()
        else:
            self._step()

    def _first_compiled_step(self) -> None:
        """Run the first compiled step; if torch.compile fails, put the state back and go on uncompiled."""
        before, n_pending = copy.deepcopy(self.state_dict()), len(self._pending_stats)
        try:
            self._step()
            self.compile_state = "compiled"
        except Exception as exc:  # noqa: BLE001 - any compiler failure; a genuine error recurs in the eager step
            self.load_state_dict(before)
            del self._pending_stats[n_pending:], self._pending_times[n_pending:]
            self._run_G, self._run_D = self.G, self.D
            reason = _root_cause(exc)
            self.compile_state = f"failed ({reason}), running uncompiled"
            warnings.warn(f"torch.compile {self.cfg.train.compile!r} failed: {reason}; training continues uncompiled",
                          RuntimeWarning, stacklevel=2)
            self._step()

    def _step(self) -> None:
        cfg, batch = self.cfg, self.cfg.train.batch_size
        m_real, m_fake = cfg.loss.margin_real, cfg.loss.margin_fake
        self.D.requires_grad_(True)
        for i in range(cfg.train.n_dis):
            real, real_labels = self._real(batch)
            z = self._z(batch)
            fake_labels = latent_labels(cfg.model, z)
            with self._autocast():
                with torch.set_grad_enabled(i == cfg.train.n_dis - 1):  # the last fake batch also serves G's step
                    fake = self._run_G(z)
                d_real, d_fake = self._scores(real, fake.detach(), real_labels, fake_labels)
            real_loss, fake_loss = self.d_loss_fn(d_real.float(), d_fake.float(), m_real, m_fake)
            self.opt_d.zero_grad(set_to_none=True)
            (real_loss + fake_loss).backward()
            self.opt_d.step()

        self.D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        critic = self.D if self.world.distributed else self._run_D  # DDP would wait for D's gradients
        with self._autocast():
            d_fake_for_g = critic(self._augment(fake), fake_labels)
        g_loss = self.g_loss_fn(d_fake_for_g.float())
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        if self.G_ema is not None:
            self._update_ema()

        self._record(d_real.detach().float(), d_fake.detach().float(), real_loss, fake_loss, g_loss)
        self.step += 1

    @torch.no_grad()
    def _update_ema(self) -> None:
        # the decay ramps up from 0.1 so that early samples are not dominated by the random init: (1 + t) / (10 + t)
        # reaches 0.99 at step 890 and 0.999 only at step 8,990, so a g_ema near 1 averages ~t/9 steps until then
        decay = min(self.cfg.train.g_ema, (1 + self.step) / (10 + self.step))
        torch._foreach_lerp_(list(self.G_ema.parameters()), list(self.G.parameters()), 1.0 - decay)
        for average, current in zip(self.G_ema.buffers(), self.G.buffers()):
            average.copy_(current)

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator samples come from: the moving average of G when train.g_ema is on, else G."""
        return self.G_ema if self.G_ema is not None else self.G

    def _record(self, d_real, d_fake, real_loss, fake_loss, g_loss) -> None:
        loss = self.cfg.loss
        self._pending_stats.append(step_statistics(d_real, d_fake, real_loss, fake_loss, g_loss.detach(),
                                                   loss.margin_real, loss.margin_fake))
        self._pending_times.append(time.time())
        lo, hi = HIST_RANGE
        self._hist_real += torch.histc(d_real.float().clamp(lo, hi), HIST_BINS, lo, hi)
        self._hist_fake += torch.histc(d_fake.float().clamp(lo, hi), HIST_BINS, lo, hi)
        self._unsynced += 1

    # --- reading statistics (host syncs happen here, at the publishing interval) ----------------

    def sync_statistics(self) -> None:
        """In several processes: every rank's statistics since the last call become the global batch's
        (each statistic is a mean over equal shares; histogram counts add). Called by all ranks together,
        at the session's control points, never inside a step."""
        if not self.world.distributed or not self._unsynced:
            return
        fresh = self._pending_stats[-self._unsynced:]
        table = sum_over_ranks_(torch.stack(fresh)).div_(self.world.size)
        self._pending_stats[-self._unsynced:] = list(table)
        sum_over_ranks_(self._hist_real)
        sum_over_ranks_(self._hist_fake)
        self._unsynced = 0

    def drain_statistics(self):
        """Steps, wall times and scalar series recorded since the last drain, as numpy; then clear them."""
        if self.world.distributed and self._unsynced:
            raise RuntimeError("statistics read between control points would be this rank's alone")
        n = len(self._pending_stats)
        steps = np.arange(self.step - n + 1, self.step + 1)
        if n:
            table = torch.stack(self._pending_stats).float().cpu().numpy()
        else:
            table = np.zeros((0, len(STAT_NAMES)), np.float32)
        times = np.asarray(self._pending_times)
        self._unsynced = 0
        self._pending_stats.clear()
        self._pending_times.clear()
        return steps, times, {name: table[:, i] for i, name in enumerate(STAT_NAMES)}

    def forget_unsynced(self) -> None:
        """Drop what was recorded since the last control point (and the histogram counts not yet read)."""
        if self._unsynced:
            del self._pending_stats[-self._unsynced:], self._pending_times[-self._unsynced:]
        self._unsynced = 0
        self._hist_real.zero_()
        self._hist_fake.zero_()

    def drain_histograms(self):
        real, fake = self._hist_real.cpu().numpy().copy(), self._hist_fake.cpu().numpy().copy()
        self._hist_real.zero_()
        self._hist_fake.zero_()
        return real, fake

    @property
    def settings(self) -> Settings:
        c = self.cfg
        return Settings(c.loss.margin_real, c.loss.margin_fake, c.model.spectral_norm,
                        c.optim.lr_g, c.optim.lr_d, c.train.n_dis, self.threads)

    def set_threads(self, threads: int) -> None:
        check_threads(threads)
        torch.set_num_threads(threads)
        self.threads = threads

    @torch.no_grad()
    def generate(self, z: torch.Tensor, average: bool = True) -> torch.Tensor:
        """Samples for z in eval mode (BatchNorm running statistics), without touching training state; from
        the sampling generator (the moving average, when on), or with average=False from G itself."""
        module = self.sampler if average else self.G
        with eval_mode(module):
            return module(z.to(self.device))

    # --- commands that change the run --------------------------------------------------------

    def apply(self, command) -> dict:
        """Apply a state-changing command; return the values now in force. Bad values raise ConfigError."""
        cfg = self.cfg
        if isinstance(command, C.SetMargins):
            check_margin("margin_real", command.margin_real)
            check_margin("margin_fake", command.margin_fake)
            cfg.loss.margin_real, cfg.loss.margin_fake = float(command.margin_real), float(command.margin_fake)
            return {"margin_real": cfg.loss.margin_real, "margin_fake": cfg.loss.margin_fake}
        if isinstance(command, C.SetSpectralNorm):
            switched = self._switch_spectral_norm(bool(command.enabled))
            return {"enabled": cfg.model.spectral_norm, "layers": normalized_layers(self.D),
                    "adam_moments_reset": switched}
        if isinstance(command, C.SetLearningRates):
            changes = [(name, value, opt) for name, value, opt in
                       (("lr_g", command.lr_g, self.opt_g), ("lr_d", command.lr_d, self.opt_d)) if value is not None]
            for name, value, _ in changes:
                check_lr(name, value)  # all checked before any applied
            for name, value, opt in changes:
                setattr(cfg.optim, name, float(value))
                for group in opt.param_groups:
                    group["lr"] = float(value)
            return {"lr_g": cfg.optim.lr_g, "lr_d": cfg.optim.lr_d}
        if isinstance(command, C.SetNDis):
            check_n_dis(command.n_dis)
            cfg.train.n_dis = command.n_dis
            self._recompile_carefully()
            return {"n_dis": cfg.train.n_dis}
        raise TypeError(f"{type(command).__name__} is not a trainer command")

    def _switch_spectral_norm(self, enabled: bool) -> list[str]:
        """Switch spectral norm on all of D's layers; return the layers that changed.

        A switched weight's Adam moments are dropped: they were gathered under the other parametrization
        (gradients of W rather than of W / sigma, a scale apart by sigma), and kept they moved D by up to
        several learning rates in the steps after a switch. Measured: tests/benchmarks/sn_switch.py.
        """
        before = set(normalized_layers(self.D))
        set_spectral_norm(self.D, enabled)
        switched = sorted(before ^ set(normalized_layers(self.D)))
        for name in switched:
            layer = normalizable_layers(self.D)[name]
            weight = layer.parametrizations.weight.original if is_normalized(layer) else layer.weight
            self.opt_d.state.pop(weight, None)  # Adam starts this weight's moments afresh
        self.cfg.model.spectral_norm = enabled
        self._recompile_carefully()
        self._needs_wrapping = self.world.distributed
        return switched

    def _adopt_settings(self) -> None:
        """After loading a checkpoint, the settings of self.cfg that a resume may change take effect over the
        saved ones (torch's optimizer load restores the saved learning rates and betas)."""
        o = self.cfg.optim
        for opt, lr in ((self.opt_g, o.lr_g), (self.opt_d, o.lr_d)):
            for group in opt.param_groups:
                group["lr"], group["betas"] = float(lr), (float(o.beta1), float(o.beta2))
        if self.cfg.model.spectral_norm != bool(normalized_layers(self.D)):
            self._switch_spectral_norm(self.cfg.model.spectral_norm)

    # --- state for checkpoints ----------------------------------------------------------------

    def state_dict(self) -> dict:
        rng = {"torch": torch.get_rng_state(), "generator": self.generator.get_state(),
               "view_generator": self.view_generator.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "step": self.step,
            "config": self.cfg.to_dict(),
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
        from core.checkpoint import load_module_state

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
        self._adopt_settings()
        self._needs_wrapping = self.world.distributed

    def rewind(self, state: dict) -> None:
        """Back to a checkpoint of this run, with the live settings it was saved with."""
        saved, cfg = from_dict(state["config"]), self.cfg
        cfg.loss, cfg.optim = saved.loss, saved.optim
        cfg.model.spectral_norm, cfg.train.n_dis = saved.model.spectral_norm, saved.train.n_dis
        self.load_state_dict(state)
        self.drain_statistics()
        self.drain_histograms()
