"""The house's rules, read from the code: core's subpackages are layers whose imports only point down, with
no cycle; the torch-free layers and the workbench import no torch; and the window's process, on every
path a user starts it on, never has torch in sys.modules."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Bottom to top: a module may import its own package and those of lower layers, never a higher one.
LAYERS = [("core.base",), ("core.protocol",), ("core.config",), ("core.pictures",), ("core.storage", "core.health"),
          ("core.run_args",),
          ("core.analysis",), ("core.trackers",),
          ("core.distributed",), ("core.training",), ("core.quality",), ("core.session",), ("core.tools",),
          ("core.cli",)]
TORCH_FREE = ("core.base", "core.protocol", "core.config", "core.pictures", "core.storage", "core.health", "core.run_args",
              "core.analysis")
TORCH = ("torch", "torchvision")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if node.module == "core"}
    return found


def package(name: str) -> str | None:
    return next((p for layer in LAYERS for p in layer if name == p or name.startswith(p + ".")), None)


def layer_of(name: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package(name) in layer)


MODULES = {module_name(p): imports(p) for p in sorted((ROOT / "core").rglob("*.py"))}
WORKBENCH = {module_name(p): imports(p) for p in sorted((ROOT / "workbench").rglob("*.py"))}


def test_every_core_module_is_in_a_layer():
    assert [name for name in MODULES if name != "core" and package(name) is None] == []
    assert len({package(name) for name in MODULES if name != "core"}) >= 8


def test_imports_only_point_down_the_layers():
    upward = []
    for name, targets in MODULES.items():
        if name == "core":
            continue
        for target in targets:
            if target.startswith("core.") and package(target) != package(name) and layer_of(target) >= layer_of(name):
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_import_cycle():
    every = {**MODULES, **WORKBENCH}
    graph = {name: {t for t in targets if t in every} for name, targets in every.items()}
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        path.append(name)
        for target in graph[name]:
            visit(target)
        path.pop()
        done.add(name)

    for name in graph:
        visit(name)


def test_torch_free_layers_and_the_workbench_import_no_torch_and_no_engine():
    offenders = [f"{name} -> {t}" for name, targets in MODULES.items() if package(name) in TORCH_FREE
                 for t in targets if t.split(".")[0] in TORCH]
    for name, targets in WORKBENCH.items():
        offenders += [f"{name} -> {t}" for t in targets if t.split(".")[0] in TORCH
                      or (t.startswith("core.") and package(t) not in TORCH_FREE)]
    assert offenders == []


def test_core_never_imports_qt_or_the_workbench():
    offenders = [f"{name} -> {t}" for name, targets in MODULES.items() for t in targets
                 if t.split(".")[0] in ("PySide6", "pyqtgraph", "workbench")]
    assert offenders == []


DRIVER = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import workbench.app
app = QApplication([])
QTimer.singleShot(int(sys.argv[1]), app.closeAllWindows)
code = workbench.app.main(sys.argv[2:])
print(json.dumps({"code": code, "torch": sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision"))}))
"""
TINY = ["--set", "data.n_samples=100", "--set", "train.batch_size=8", "--set", "model.g_width=4",
        "--set", "model.d_width=4", "--set", "model.z_dim=8", "--set", "train.threads=1"]


def open_window(tmp_path, close_after_ms, *args):
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", DRIVER, str(close_after_ms), *map(str, args)], capture_output=True,
                          text=True, timeout=150, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_window_process_never_imports_torch_on_any_path(tmp_path):
    run = tmp_path / "run"
    new = open_window(tmp_path, 120_000, "--preset", "digits", *TINY, "--max-steps", 3, "--exit-when-done",
                      "--run-dir", run)
    assert new == {"code": 0, "torch": []}
    assert (run / "checkpoints" / "last.pt").exists()  # the engine (in its own process) did train
    resumed = open_window(tmp_path, 120_000, "--resume", run / "checkpoints" / "last.pt", "--max-steps", 2,
                          "--exit-when-done")
    assert resumed == {"code": 0, "torch": []}
    assert sum(1 for _ in open(run / "metrics.csv")) == 1 + 5
    attached = open_window(tmp_path, 3000, "--attach", run)
    assert attached == {"code": 0, "torch": []}
