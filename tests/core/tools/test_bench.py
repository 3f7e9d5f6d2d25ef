import json

import pytest
import torch

from core.tools.bench import ReferenceLoop, benchmark
from core.training.trainer import Trainer


def test_bench_prints_a_table_and_ends_with_json(tiny_digits_config):
    lines = []
    result = benchmark(tiny_digits_config(), "cpu", rounds=2, steps_per_round=3, out=lines.append)
    last = json.loads(lines[-1])
    assert last == result
    assert last["engine_steps_per_s"] > 0 and last["reference_steps_per_s"] > 0
    assert last["ratio"] == pytest.approx(last["engine_steps_per_s"] / last["reference_steps_per_s"], rel=0.01)
    assert any("reference steps/s" in line for line in lines)


def test_reference_loop_trains_the_same_models(tiny_ring_config):
    trainer = Trainer(tiny_ring_config(), "cpu")
    reference = ReferenceLoop(trainer)
    before = [p.detach().clone() for p in reference.G.parameters()]
    reference.train_step()
    assert set(reference.info) == {"real_loss", "fake_loss", "d_real", "d_fake", "real_margin_violations",
                                   "fake_margin_violations"}
    assert any(not torch.equal(a, b) for a, b in zip(before, reference.G.parameters()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("preset, options", [("ring8", []), ("digits", []),
                                             ("digits", ["train.precision=bf16", "train.channels_last=on"])])
def test_training_step_never_syncs_with_the_gpu(preset, options):
    from core.config import resolve

    trainer = Trainer(resolve(preset, overrides=["data.n_samples=500", *options]), "cuda")
    trainer.train_step()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            trainer.train_step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
