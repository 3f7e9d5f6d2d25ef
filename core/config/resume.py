"""What a resume may change of a checkpoint's settings: everything but what shapes the models, the data they
learn and the seeds whose generators the checkpoint carries."""
from __future__ import annotations

from core.base.errors import ConfigError
from core.config.schema import Config

# Everything else (losses, margins, optimizer, spectral norm, n_dis, batch size, speed options, evaluation,
# data.root of a moved folder) takes effect on resume.
FIXED_ON_RESUME = ("data.source", "data.name", "data.image_size", "data.channels", "data.n_samples",
                   "data.background", "data.labels", "data.holdout", "model.z_dim", "model.g_width", "model.g_upsample", "model.g_depth", "model.d_width",
                   "model.d_depth", "model.discriminator", "model.classes", "model.mlp_hidden", "model.mlp_depth",
                   "train.seed", "train.n_fixed")


def _flat(cfg: Config) -> dict:
    return {f"{section}.{key}": value for section, values in cfg.to_dict().items() if isinstance(values, dict)
            for key, value in values.items()}


def resume_changes(saved: Config, cfg: Config) -> dict[str, list]:
    """{key: [saved, now]} for each setting cfg changes from a checkpoint's; ConfigError for one it cannot."""
    old, new = _flat(saved), _flat(cfg)
    changed = {key: [old[key], new[key]] for key in new if old.get(key) != new[key]}
    for key in changed:
        if key in FIXED_ON_RESUME:
            raise ConfigError(f"a resume cannot change {key} (the checkpoint has {old[key]!r}, asked for "
                              f"{new[key]!r}): it shapes the models, the data or the saved random state; "
                              "start a new run instead")
    return changed
