import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The user's own files are never touched: Qt's settings (the window's layout, file dialogs' history), caches and
# data go to a folder of the test session's, for this process and every process it starts.
_HOME = Path(tempfile.mkdtemp(prefix="hinge-tests-"))
for _name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
    os.environ[_name] = str(_HOME / _name.lower())

from core.config import Config, DataConfig, ModelConfig, TrainConfig, validate  # noqa: E402


def descendants(pid: int) -> set[int]:
    """The processes `pid` started, and theirs, still running (zombies left out)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """Whatever a test started ends with it, passed, failed or timed out: asked to stop, then killed."""
    before = descendants(os.getpid()) if Path("/proc").is_dir() else set()
    yield
    if not Path("/proc").is_dir():
        return
    left = descendants(os.getpid()) - before
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while (left := descendants(os.getpid()) - before) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not left:
            return


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
