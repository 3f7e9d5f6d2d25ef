"""The speed options of a training step, set up once per run: the precision (`auto` decided here), the
memory format, torch.compile with its fallback to the eager step, and the DDP wrappers of several
processes. Which of them pays where is measured in docs/performance.md."""
from __future__ import annotations

import contextlib
import dataclasses
import warnings

import torch

from core.base.errors import ConfigError
from core.config import COMPILE_MODES, Config
from core.distributed.world import World
from core.training.compat import compile_backends, cpu_has_native_bf16


def resolve_precision(cfg: Config, data_kind: str, device: torch.device) -> tuple[Config, str]:
    """The recipe with train.precision = auto replaced by its choice (so config.json records what is
    trained), and why, in words: bf16 for image models on a CPU with bf16 instructions, where it pays; fp32
    elsewhere (emulated bf16 is far slower; GPUs: unmeasured). docs/performance.md, "Speed options"."""
    if cfg.train.precision != "auto":
        return cfg, "set by train.precision"
    if data_kind != "images":
        precision, why = "fp32", "auto: 2D models are too small to gain from bf16"
    elif device.type != "cpu":
        precision, why = "fp32", "auto: bf16 is not yet measured on a GPU"
    elif cpu_has_native_bf16():
        precision, why = "bf16", "auto: this CPU has bf16 instructions"
    else:
        precision, why = "fp32", "auto: this CPU has no bf16 instructions (AVX512-BF16 or AMX), so bf16 would be slower"
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, precision=precision)), why


def check_compile_backend(how: str) -> None:
    if how in ("off", *COMPILE_MODES):
        return
    backends = compile_backends()
    if how not in backends:
        raise ConfigError(f"train.compile must be off, one of {', '.join(COMPILE_MODES)}, or a torch.compile "
                          f"backend ({', '.join(backends)}); got {how!r}")


def compile_module(module: torch.nn.Module, how: str):
    """torch.compile with a mode name, or with a backend name (e.g. cudagraphs, aot_eager)."""
    if how in COMPILE_MODES:
        return torch.compile(module, mode=how)
    return torch.compile(module, backend=how)


def root_cause(exc: BaseException) -> str:
    while (inner := getattr(exc, "inner_exception", None) or exc.__cause__) is not None:
        exc = inner  # torch.compile wraps the compiler's own error
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__


class FastPath:
    """The modules a training step runs (compiled, or DDP-wrapped in several processes) and the options in
    force, set up on G and D as built."""

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module, cfg: Config, data_kind: str, device: torch.device,
                 world: World):
        t, cuda = cfg.train, device.type == "cuda"
        self.G, self.D, self.device, self.world, self.train_cfg = G, D, device, world, t
        if cuda:
            torch.backends.cudnn.benchmark = t.cudnn_benchmark
        self.memory_format = torch.contiguous_format
        if data_kind == "images" and (t.channels_last == "on" or (t.channels_last == "auto" and cuda)):
            self.memory_format = torch.channels_last
            G.to(memory_format=self.memory_format)
            D.to(memory_format=self.memory_format)
        check_compile_backend(t.compile)
        self.compile_state = "off"
        self.run_G, self.run_D = G, D
        self.needs_wrapping = world.distributed
        if t.compile != "off":
            self.run_G, self.run_D = compile_module(G, t.compile), compile_module(D, t.compile)
            self.compile_state = "untried"  # torch.compile fails, if at all, at the first call

    def autocast(self):
        if self.train_cfg.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def before_step(self) -> None:
        if self.needs_wrapping:
            self._wrap_for_ranks()

    def _wrap_for_ranks(self) -> None:
        """DDP wrappers, built at a step, where every rank builds them together (construction is a
        collective); rebuilt after spectral norm changes D's parameters. Buffers are not broadcast at each
        forward: every rank computes the same ones, and D runs twice before a backward."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        self.run_G, self.run_D = (torch.nn.parallel.DistributedDataParallel(m, device_ids=ids,
                                                                               forward_sync_buffers=False)
                                  for m in (self.G, self.D))
        self.needs_wrapping = False

    def rewrap(self) -> None:
        """The models' parameters were replaced (spectral norm switched, a checkpoint loaded): every rank
        builds its DDP wrappers again at the next step."""
        self.needs_wrapping = self.world.distributed

    def retrace(self) -> None:
        """After a change that makes torch.compile trace again, guard the next step as the first one was."""
        if self.compile_state == "compiled":
            self.compile_state = "untried"

    @property
    def first_compiled_step(self) -> bool:
        return self.compile_state == "untried"

    def compiler_failed(self, exc: BaseException) -> None:
        """Go on with the eager modules, and say why."""
        self.run_G, self.run_D = self.G, self.D
        reason = root_cause(exc)
        self.compile_state = f"failed ({reason}), running uncompiled"
        warnings.warn(f"torch.compile {self.train_cfg.compile!r} failed: {reason}; training continues uncompiled",
                      RuntimeWarning, stacklevel=3)

    def describe(self) -> str:
        """The speed options in force, for the Run dock and run info."""
        t = self.train_cfg
        parts = [t.precision]
        if self.memory_format is torch.channels_last:
            parts.append("channels_last")
        if self.device.type == "cuda" and t.cudnn_benchmark:
            parts.append("cudnn.benchmark")
        if t.compile != "off":
            parts.append(f"compile {t.compile}: {self.compile_state}")
        return ", ".join(parts)
