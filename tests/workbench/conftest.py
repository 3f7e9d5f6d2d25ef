import multiprocessing
import threading

import pytest
from PySide6.QtCore import QSettings

from core.config import resolve
from workbench.main_window import MainWindow
from core.protocol.engine import RunSpec

RING = ["train.batch_size=32", "model.mlp_hidden=32", "train.publish_every_s=0.05", "train.samples_every_s=0.3"]
DIGITS = ["data.n_samples=200", "train.batch_size=8", "model.g_width=4", "model.d_width=4", "model.z_dim=8",
          "train.n_fixed=16", "train.publish_every_s=0.05", "train.samples_every_s=0.3"]


def make_spec(tmp_path, preset="ring8", overrides=RING, **kwargs) -> RunSpec:
    cfg = resolve(preset, overrides=overrides)
    return RunSpec(cfg.to_dict(), str(tmp_path / "run"), "cpu", **kwargs)


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """A main window with no run yet; on teardown it is closed and must leave no thread or process behind."""
    threads_before = set(threading.enumerate())
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    assert multiprocessing.active_children() == []
    leftover = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()
                and t.name.startswith("hinge")]
    assert leftover == []


def wait_for(qtbot, condition, timeout=60_000):
    qtbot.waitUntil(condition, timeout=timeout)
