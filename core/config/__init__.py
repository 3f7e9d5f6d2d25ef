"""A run's settings: the schema (one dataclass a section), the checks, where settings come from, and which of
them a user steers while a run trains. No torch: the window's process reads and checks configs too."""
from core.config.checks import (augment_policies, check_compile, check_loss, check_lr, check_margin, check_n_dis,
                                check_threads, unused_settings, validate)
from core.config.presets import (apply_overrides, assets_dir, from_dict, load_file, load_preset, preset_description,
                                 preset_names, presets_dir, resolve, set_value, valid_keys)
from core.config.schema import *  # noqa: F403
from core.config.schema import __all__ as _schema_names
from core.config.steerable import settings_of, with_settings

__all__ = [*_schema_names, "augment_policies", "check_compile", "check_loss", "check_lr", "check_margin", "check_n_dis",
           "check_threads", "unused_settings", "validate",
           "apply_overrides", "assets_dir", "from_dict", "load_file", "load_preset", "preset_description", "preset_names",
           "presets_dir", "resolve", "set_value", "valid_keys", "settings_of", "with_settings"]
