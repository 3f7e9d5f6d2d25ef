import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from core.config import Config, DataConfig, ModelConfig, TrainConfig, validate  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Classifiers the tests train go to a temporary cache, never the user's."""
    os.environ["HINGE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


PINNED = {"threads": 1}  # tiny models; and a pinned count keeps bit-exact comparisons free of the governor


@pytest.fixture
def tiny_digits_config():
    """A digits config small enough to train in milliseconds per step."""
    def make(**train):
        cfg = Config(preset="tiny", data=DataConfig(source="digits", n_samples=200),
                     model=ModelConfig(z_dim=8, g_width=4, d_width=4),
                     train=TrainConfig(**{"batch_size": 8, "checkpoint_every": 10_000, "n_fixed": 16, **PINNED, **train}))
        return validate(cfg)
    return make


@pytest.fixture
def tiny_ring_config():
    def make(**train):
        cfg = Config(preset="tiny-ring", data=DataConfig(source="ring8"),
                     model=ModelConfig(z_dim=2, mlp_hidden=16, mlp_depth=2),
                     train=TrainConfig(**{"batch_size": 32, "checkpoint_every": 10_000, **PINNED, **train}))
        return validate(cfg)
    return make
