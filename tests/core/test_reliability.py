"""Faults that must not lose work: crashes mid-save, autosave, huge images."""
import os
import signal
import struct
import subprocess
import sys
import time
import zlib

import pytest

from PIL import Image

from core.protocol import commands as C
from core.training.checkpoint import load_checkpoint
from core.config import DataConfig
from core.training.data import load_dataset
from core.training.trainer import Trainer
from core.storage.rundir import RunDir
from core.session import Session
from tests.core.helpers import run_session

WRITER = """
import sys, torch
from core.training.checkpoint import load_checkpoint, save_checkpoint
state = load_checkpoint(sys.argv[1])
state["padding"] = torch.zeros(20_000_000)  # 80 MB: a save takes long enough to be caught in the middle
print("ready", flush=True)
while True:
    save_checkpoint(state, sys.argv[2])
"""


@pytest.mark.slow
def test_killing_a_writer_mid_save_leaves_the_previous_checkpoint_loadable(tmp_path, tiny_digits_config):
    run_session(tiny_digits_config(), tmp_path / "run", 2)
    source = tmp_path / "run" / "checkpoints" / "last.pt"
    target = tmp_path / "target.pt"
    target.write_bytes(source.read_bytes())
    killed_mid_save = set()
    for _ in range(3):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(source), str(target)], stdout=subprocess.PIPE,
                                  text=True)
        assert writer.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not (partial := {p.name for p in tmp_path.glob(".target.pt.*")} - killed_mid_save):
            assert time.monotonic() < deadline, "the writer never started a save"
            time.sleep(0.005)
        writer.send_signal(signal.SIGKILL)  # while its temporary file is being written
        writer.wait(10)
        killed_mid_save |= partial
        assert load_checkpoint(target)["step"] == 2
    leftovers = {p.name for p in tmp_path.glob(".target.pt.*")}
    assert leftovers <= killed_mid_save  # only the files of interrupted saves; the target itself intact


def test_autosave_writes_last_checkpoint_between_step_checkpoints(tmp_path, tiny_ring_config):
    cfg = tiny_ring_config(autosave_minutes=0.002)  # about every 0.1 s
    last = tmp_path / "checkpoints" / "last.pt"
    seen = []

    def publish(t):
        if last.exists() and t.state == "running":
            seen.append(load_checkpoint(last)["step"])

    trainer = Trainer(cfg, "cpu")
    session = Session(trainer, RunDir(tmp_path), publish=publish)
    started = time.monotonic()
    session.run(lambda timeout: C.Stop() if len(seen) >= 2 or time.monotonic() - started > 60 else None)
    assert len(seen) >= 2 and 0 < seen[0] < seen[-1]  # last.pt moved along while running
    step_files = [p.name for p in (tmp_path / "checkpoints").glob("step-*.pt")]
    assert step_files == [f"step-{trainer.step}.pt"]  # none was due before the final save


def _png_header_only(path, width, height):
    """A PNG that claims width x height pixels but holds almost no data: opening it must not decode it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                     + chunk(b"IEND", b""))


def test_a_huge_image_is_skipped_without_decoding_it(tmp_path):
    _png_header_only(tmp_path / "huge.png", 20000, 20000)
    for i in range(4):
        Image.new("RGB", (40, 40), (i * 60, 0, 0)).save(tmp_path / f"ok{i}.png")
    before = _rss_mb()
    bank = load_dataset(DataConfig(source="folder", root=str(tmp_path), image_size=32, channels=3), 4)
    assert len(bank) == 4 and bank.skipped == 1
    assert _rss_mb() - before < 200


def _rss_mb():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
def test_a_full_disk_stops_headless_training_with_a_message_and_a_loadable_checkpoint(tmp_path):
    import resource

    def small_files():  # files may grow to 150 kB: metrics.csv hits that first, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "core.cli", "train", "--preset", "ring8", "--steps", "5000",
                             "--set", "train.batch_size=16", "--set", "model.mlp_hidden=16",
                             "--set", "train.checkpoint_every=100", "--run-dir", str(run)],
                            capture_output=True, text=True, timeout=300, preexec_fn=small_files)
    assert result.returncode == 3, result.stderr
    assert "File too large" in result.stderr and "Traceback" not in result.stderr
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert 100 <= state["step"] < 5000
