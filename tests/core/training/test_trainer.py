import json

import numpy as np
import pytest
import torch

from core.protocol import commands as C
from core.training import speedups
from core.training.checkpoint import load_checkpoint
from core.training.trainer import Trainer
from core.protocol.telemetry import STAT_NAMES
from tests.core.helpers import assert_same_weights, metrics_rows, run_session, weights


def test_same_seed_same_weights_other_seed_other_weights(tiny_digits_config):
    runs = []
    for seed in (0, 0, 1):
        t = Trainer(tiny_digits_config(seed=seed), "cpu")
        for _ in range(5):
            t.train_step()
        runs.append(weights(t))
    assert_same_weights(runs[0], runs[1])
    assert not torch.equal(runs[0]["G.net.0.weight"], runs[2]["G.net.0.weight"])


@pytest.mark.parametrize("variant", ["digits-sn", "digits-bn-ema", "digits-conditional", "ring"])
def test_resume_is_bit_exact(tmp_path, tiny_digits_config, tiny_ring_config, variant):
    cfg = tiny_ring_config if variant == "ring" else tiny_digits_config
    change = {"digits-bn-ema": _bn_ema, "digits-conditional": _conditional}.get(variant, lambda c: c)
    make = lambda: change(cfg())  # noqa: E731
    toggles = [C.SetSpectralNorm(False)]  # applied at step 0: the resumed run must restore this state
    straight = run_session(make(), tmp_path / "straight", 200, commands=toggles)
    first = run_session(make(), tmp_path / "split", 100, commands=toggles)
    state = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")
    assert state["step"] == 100 and state["sn_layers"] == []
    from core.config import from_dict
    second = run_session(from_dict(state["config"]), tmp_path / "split", 100, state=state)
    assert second.trainer.step == 200
    assert_same_weights(weights(straight.trainer), weights(second.trainer))
    assert len(metrics_rows(tmp_path / "split")) == 200
    assert first.trainer.step == 100


def _bn_ema(cfg):
    cfg.model.discriminator = "bn"
    cfg.train.g_ema = 0.99
    return cfg


def _conditional(cfg, discriminator="sn"):
    cfg.model.classes, cfg.model.discriminator = 10, discriminator
    return cfg


@pytest.mark.parametrize("discriminator", ["sn", "bn"])
def test_a_class_conditional_d_sees_each_image_with_its_class(tiny_digits_config, discriminator):
    t = Trainer(_conditional(tiny_digits_config(), discriminator), "cpu")
    d_calls, asked = [], []
    t.D.register_forward_pre_hook(lambda module, args: d_calls.append(args))
    t.G.register_forward_pre_hook(lambda module, args: asked.append(args[0][:, 8:].argmax(1)))
    projection = t.D.projection.parametrizations.weight.original.clone()
    t.train_step()
    *for_d, for_g = d_calls  # sn: real and fake in one call; bn: one each. Then the fakes again for G's step
    images, labels = torch.cat([c[0] for c in for_d]), torch.cat([c[1] for c in for_d])
    bank = t.data.images.float() / 127.5 - 1
    for image, label in zip(images[:8], labels[:8]):
        assert label in t.data.labels[(bank == image).flatten(1).all(1)]
    assert torch.equal(labels[8:], asked[0]) and torch.equal(for_g[1], asked[0])
    assert not torch.equal(projection, t.D.projection.parametrizations.weight.original)  # trained, under SN


def test_the_generator_average_is_a_moving_average_and_gives_the_samples(tiny_ring_config):
    t = Trainer(tiny_ring_config(g_ema=0.999), "cpu")
    before = [p.clone() for p in t.G.parameters()]
    t.train_step()  # first step: the ramped decay is 1/10
    for average, old, new in zip(t.G_ema.parameters(), before, t.G.parameters()):
        torch.testing.assert_close(average, 0.1 * old + 0.9 * new)
    z = torch.randn(5, 2)
    assert torch.equal(t.generate(z), t.G_ema(z)) and not torch.equal(t.generate(z), t.G(z))


def test_commands_are_applied_echoed_and_logged(tmp_path, tiny_digits_config):
    session = run_session(tiny_digits_config(), tmp_path, 6, commands=[
        C.SetMargins(0.5, 2.0), C.SetLearningRates(lr_d=1e-3), C.SetNDis(2),
        C.SetMargins(float("nan"), 1.0), C.SetLearningRates(lr_g=-1.0), C.SetSpectralNorm(False),
        C.SetAugment("translation,color"), C.SetAugment("mirror"),
    ])
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[:8] == ["set_margins", "set_learning_rates", "set_n_dis", "rejected", "rejected", "set_spectral_norm",
                         "set_augment", "rejected"]
    assert all(e["step"] == 0 and "wall_time" in e for e in events[:8])
    assert events[6]["policies"] == "color,translation" and "train.augment" in events[7]["reason"]
    assert session.trainer.augment_policies == ("color", "translation")
    assert "margin_real" in events[3]["reason"] and "lr_g" in events[4]["reason"]
    assert events[5]["layers"] == []
    s = session.trainer.settings
    assert (s.margin_real, s.margin_fake, s.lr_d, s.n_dis, s.spectral_norm) == (0.5, 2.0, 1e-3, 2, False)
    rows = metrics_rows(tmp_path)
    assert [r["margin_real"] for r in rows] == ["0.5"] * 6
    assert rows[-1]["spectral_norm"] == "0" and rows[-1]["n_dis"] == "2" and rows[-1]["augment"] == "color,translation"
    assert set(rows[0]) >= {"step", "wall_time", *STAT_NAMES, "lr_g", "lr_d"}


def test_pause_then_step_advances_exactly(tmp_path, tiny_digits_config):
    from core.storage.rundir import RunDir
    from core.session import Session

    session = Session(Trainer(tiny_digits_config(), "cpu"), RunDir(tmp_path), max_steps=1000, paused=True)
    script = iter([C.Step(1), None, C.Step(2), None, None, None, None, None, C.Pause(), None, C.Stop()])
    seen = []

    def receive(timeout):
        seen.append(session.trainer.step)
        return next(script, None)

    assert session.run(receive) == "stopped"
    assert session.trainer.step == 3
    assert seen[-1] == 3 and session.control.step_budget == 0


def test_telemetry_histograms_and_samples(tmp_path, tiny_digits_config, tiny_ring_config):
    published = []
    run_session(tiny_digits_config(), tmp_path / "img", 10, publish=published.append)
    last = published[-1]
    assert last.state == "done" and last.step == 10
    total_real = sum(t.scores.real.sum() for t in published)
    assert total_real == 10 * 8
    grid = [t.samples for t in published if t.samples is not None][-1].grid
    assert grid.dtype == np.uint8 and grid.ndim == 3
    assert sum(len(t.steps) for t in published) == 10
    published.clear()
    run_session(tiny_ring_config(), tmp_path / "ring", 5, publish=published.append)
    view = [t.samples for t in published if t.samples is not None][-1]
    assert view.score_field.shape == (64, 64) and view.fake_points.shape[1] == 2
    assert list((tmp_path / "ring" / "samples" / "timelapse").glob("step-*.png"))


@pytest.mark.parametrize("classes", [0, 10])
def test_a_run_writes_its_real_images_as_d_receives_them_laid_out_as_its_samples(tmp_path, tiny_digits_config,
                                                                                   classes):
    from dataclasses import replace
    from core.config import validate
    from core.pictures import grid_cells, read_picture
    from core.training.data import load_dataset

    cfg = tiny_digits_config()
    cfg = validate(replace(cfg, model=replace(cfg.model, classes=classes)))
    published = []
    run_session(cfg, tmp_path, 1, publish=published.append)
    real = read_picture(tmp_path / "real.png")
    view = [t.samples for t in published if t.samples is not None][0]
    assert real.shape == view.grid.shape  # the same count and layout as the fixed-z grid beside it
    cells = grid_cells(real, view.cell, view.count)
    bank = load_dataset(cfg.data, 8)
    for i, cell in enumerate(cells):
        matches = (bank.images[:, 0] == torch.from_numpy(cell[:, :, 0])).flatten(1).all(1)
        assert matches.any()  # a real image, exactly as held (after the fit to the model's size)
        if classes:
            assert i % classes in bank.labels[matches]  # a class a column, as the class-conditional samples


def test_divergence_pauses_and_never_checkpoints(tmp_path, tiny_digits_config):
    cfg = tiny_digits_config()
    trainer = Trainer(cfg, "cpu")
    with torch.no_grad():
        next(trainer.G.parameters()).fill_(float("nan"))
    from core.storage.rundir import RunDir
    from core.session import Session
    published = []
    session = Session(trainer, RunDir(tmp_path), max_steps=50, publish=published.append)
    session.run(lambda timeout: C.Stop() if session.state == "diverged" else None)
    assert session.state == "diverged"
    assert "NaN" in published[-1].message
    assert not list((tmp_path / "checkpoints").glob("*.pt"))
    events = (tmp_path / "events.jsonl").read_text()
    assert '"diverged"' in events


def _train(cfg, steps=4):
    t = Trainer(cfg, "cpu")
    for _ in range(steps):
        t.train_step()
    return t


def test_bf16_autocast_trains_close_to_fp32(tiny_digits_config):
    fp32, bf16 = _train(tiny_digits_config()), _train(tiny_digits_config(precision="bf16"))
    assert bf16.speedups.startswith("bf16")
    losses = [t.drain_statistics()[2]["d_loss"] for t in (fp32, bf16)]
    assert np.isfinite(losses[1]).all()
    np.testing.assert_allclose(losses[1], losses[0], rtol=0.05)
    assert all(p.dtype == torch.float32 for p in bf16.G.parameters())  # autocast keeps fp32 master weights


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_for_image_models_on_a_cpu_with_bf16_instructions(monkeypatch, tiny_digits_config,
                                                                                  tiny_ring_config, native):
    monkeypatch.setattr(speedups, "cpu_has_native_bf16", lambda: native)  # this machine's CPU, either way
    auto = _train(tiny_digits_config(precision="auto"))
    named = _train(tiny_digits_config(precision="bf16" if native else "fp32"))
    assert auto.speedups.startswith("bf16" if native else "fp32")
    assert auto.cfg.train.precision == ("bf16" if native else "fp32")  # what config.json will record
    assert auto.precision_why == ("auto: this CPU has bf16 instructions" if native else
                                  "auto: this CPU has no bf16 instructions (AVX512-BF16 or AMX), so bf16 would be slower")
    assert named.precision_why == "set by train.precision"
    np.testing.assert_array_equal(auto.drain_statistics()[2]["d_loss"], named.drain_statistics()[2]["d_loss"])
    assert _train(tiny_ring_config(precision="auto")).speedups.startswith("fp32")  # 2D points keep fp32


def test_channels_last_changes_the_layout_not_the_result(tiny_digits_config):
    plain, channels_last = _train(tiny_digits_config()), _train(tiny_digits_config(channels_last="on"))
    conv = channels_last.D.net[2].parametrizations.weight.original  # 4 input channels: the layouts differ
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    for a, b in zip(plain.G.parameters(), channels_last.G.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_compiled_step_matches_the_eager_step(tiny_ring_config):
    eager, compiled = _train(tiny_ring_config()), _train(tiny_ring_config(compile="aot_eager"))
    assert compiled.fast.compile_state == "compiled"
    for a, b in zip(eager.D.parameters(), compiled.D.parameters()):
        torch.testing.assert_close(a, b)


def test_a_compile_backend_torch_does_not_know_is_refused_by_name(tiny_ring_config):
    from core.base.errors import ConfigError

    with pytest.raises(ConfigError, match="train.compile .*inductor"):
        Trainer(tiny_ring_config(compile="turbo"), "cpu")


def test_a_failing_compiler_falls_back_to_the_eager_step_without_losing_a_step(tiny_ring_config):
    from torch._dynamo import list_backends, register_backend

    if "always_fails" not in list_backends(exclude_tags=()):
        @register_backend
        def always_fails(graph_module, example_inputs):
            raise RuntimeError("this backend cannot compile anything")

    eager = _train(tiny_ring_config())
    with pytest.warns(RuntimeWarning, match="cannot compile anything"):
        fallen_back = _train(tiny_ring_config(compile="always_fails"))
    assert fallen_back.fast.compile_state.startswith("failed (") and fallen_back.step == 4
    assert_same_weights(weights(eager), weights(fallen_back))
    assert len(fallen_back.drain_statistics()[0]) == 4


def test_switching_spectral_norm_restarts_the_switched_weights_adam_moments(tiny_ring_config):
    cfg = tiny_ring_config()
    cfg.model.spectral_norm = False
    trainer = Trainer(cfg, "cpu")
    for _ in range(20):
        trainer.train_step()
    result = trainer.set_spectral_norm(True)
    assert result["adam_moments_reset"] == result["layers"] and len(result["layers"]) == 3
    originals = [layer.parametrizations.weight.original for layer in trainer.D.modules()
                 if hasattr(layer, "parametrizations")]
    assert all(p not in trainer.opt_d.state for p in originals)
    before = [p.detach().clone() for p in originals]
    trainer.train_step()
    lr = trainer.settings.lr_d
    for old, new in zip(before, originals):  # Adam's first step moves every weight by the learning rate
        moved = (new.detach() - old).abs()
        assert torch.allclose(moved[moved > 0], torch.full_like(moved[moved > 0], lr), rtol=1e-3)
        assert int(trainer.opt_d.state[new]["step"]) == 1


def test_n_dis_trains_d_that_many_times_per_step(tiny_digits_config):
    trainer = Trainer(tiny_digits_config(n_dis=3), "cpu")
    for _ in range(4):
        trainer.train_step()
    d_steps = {int(s["step"]) for s in trainer.opt_d.state.values()}
    g_steps = {int(s["step"]) for s in trainer.opt_g.state.values()}
    assert (d_steps, g_steps) == ({12}, {4})
