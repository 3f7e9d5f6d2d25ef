import json

import pytest

from core.config import Config, apply_overrides, from_dict, load_file, load_preset, preset_names, resolve, validate
from core.base.errors import ConfigError


def test_every_shipped_preset_loads_and_validates():
    names = preset_names()
    assert {"ring8", "grid25", "digits", "mnist", "cifar10", "folder", "folder64"} <= set(names)
    for name in names:
        cfg = load_preset(name)
        if cfg.data.source == "folder":  # the presets with no data of their own: they must be told where
            with pytest.raises(ConfigError, match="data.root is required"):
                validate(cfg)
            cfg.data.root = "/some/pictures"
        assert validate(cfg).preset == name


def test_set_coerces_types():
    cfg = apply_overrides(Config(), ["loss.margin_real=0", "train.n_dis=2", "model.spectral_norm=off",
                                     "data.root=/tmp/x", "optim.lr_d=1e-3"])
    assert cfg.loss.margin_real == 0.0 and isinstance(cfg.loss.margin_real, float)
    assert cfg.train.n_dis == 2 and cfg.model.spectral_norm is False
    assert cfg.data.root == "/tmp/x" and cfg.optim.lr_d == 1e-3


@pytest.mark.parametrize("override, words", [
    ("loss.margin_real=nan", "loss.margin_real"),
    ("loss.margin_fake=-1", "loss.margin_fake"),
    ("loss.margin_real=1e9", "loss.margin_real"),
    ("optim.lr_g=0", "optim.lr_g"),
    ("train.n_dis=0", "train.n_dis"),
    ("train.n_dis=two", "integer"),
    ("loss.kind=mse", "loss.kind"),
    ("model.spectral_norm=maybe", "true or false"),
    ("nosuch.key=1", "unknown setting"),
    ("train.nosuch=1", "unknown setting"),
    ("novalue", "KEY=VALUE"),
    ("train.precision=fp16", "train.precision"),
    ("train.channels_last=yes", "train.channels_last"),
    ("train.compile=turbo mode", "train.compile .*backend's name"),
    ("model.g_depth=4", "model.g_depth"),
    ("model.d_depth=0", "model.d_depth must be one of 1, 2, 3"),
    ("model.classes=-1", "model.classes must be 0"),
])
def test_nonsense_settings_are_refused_by_name(override, words):
    with pytest.raises(ConfigError, match=words):
        resolve("digits", overrides=[override])


def test_a_class_conditional_model_needs_images():
    with pytest.raises(ConfigError, match="model.classes conditions on image labels"):
        resolve("ring8", overrides=["model.classes=8"])


def test_config_round_trips_through_json(tmp_path):
    cfg = resolve("ring8", overrides=["loss.margin_fake=0.5"])
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    again = load_file(tmp_path / "config.json")
    assert again.to_dict() == cfg.to_dict()


def test_config_file_with_unknown_keys_or_wrong_types(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"loss": {"margin_real": 1.0, "tempo": 3}}))
    with pytest.raises(ConfigError, match="loss.tempo"):
        load_file(bad)
    bad.write_text(json.dumps({"train": {"batch_size": "many"}}))
    with pytest.raises(ConfigError, match="train.batch_size"):
        load_file(bad)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_file(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_file(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="not a file"):
        load_file(tmp_path)


def test_data_sources_needing_a_root_say_so():
    with pytest.raises(ConfigError, match="data.root"):
        validate(from_dict({"data": {"source": "folder", "root": ""}}))


def test_a_tracker_that_is_not_installed_is_one_line_before_training(monkeypatch):
    import importlib.util

    from core.config import apply_overrides, load_preset, validate

    installed = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else installed(name, *a))
    with pytest.raises(ConfigError, match=r"log.wandb needs wandb, which is not installed here: pip install "
                                          r"'hinge-workbench\[wandb\]'"):
        validate(apply_overrides(load_preset("digits"), ["log.wandb=my-project"]))
    with pytest.raises(ConfigError, match="log.wandb_mode must be one of online, offline"):
        validate(apply_overrides(load_preset("digits"), ["log.wandb_mode=sometimes"]))
    validate(apply_overrides(load_preset("digits"), ["log.tensorboard=true"]))
