"""The settings a user can change while a run trains, and where each lives in a run's config: a Config is
the recipe a run starts from; the Settings in force are the Trainer's, and a checkpoint records the
recipe with them written in, so a resume goes on with what was in force."""
from __future__ import annotations

import copy

from core.config.schema import Config
from core.protocol.telemetry import Settings


def settings_of(cfg: Config, threads: int) -> Settings:
    """The steerable settings a config starts a run with (threads: the count the trainer chose)."""
    return Settings(cfg.loss.margin_real, cfg.loss.margin_fake, cfg.model.spectral_norm, cfg.optim.lr_g,
                    cfg.optim.lr_d, cfg.train.n_dis, threads, cfg.loss.kind, cfg.train.augment)


def with_settings(cfg: Config, s: Settings) -> Config:
    """A copy of the recipe with the settings in force written in (the thread count stays the recipe's:
    0 means 'follow the free cores', which a resume should go on doing)."""
    out = copy.deepcopy(cfg)
    out.loss.kind, out.loss.margin_real, out.loss.margin_fake = s.loss, s.margin_real, s.margin_fake
    out.model.spectral_norm, out.train.n_dis = s.spectral_norm, s.n_dis
    out.optim.lr_g, out.optim.lr_d = s.lr_g, s.lr_d
    out.train.augment = s.augment
    return out
