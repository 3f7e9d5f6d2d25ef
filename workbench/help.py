"""The Help menu's pages: the shortcuts (read from the window's own actions), a tour of the docks, where
the files are, and About."""
from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout

import core

TOUR = (
    ("Losses", "D loss, G loss and D's real and fake parts over steps; the slider smooths them. A dashed line "
               "marks each change you made (hover it to read what)."),
    ("Margins", "Histograms of D(real) (green) and D(fake) (red) with the margins +m_real and -m_fake as lines: "
                "drag a line to set that margin. Below, the share of samples still inside their margin, i.e. still "
                "getting gradient."),
    ("Samples", "The generator's output for a fixed z (click a sample to enlarge). For 2D data: real points grey, "
                "generated orange, the modes as circles, and D's score as a heat map with its colour scale."),
    ("Controls", "Pause, step, the loss, margins (tick link to keep them equal), spectral norm, learning rates, n_dis, "
                 "augmentation (DiffAugment: colour, translation, cutout on real and fake images before D). "
                 "Each shows what the engine applied; a refused value snaps back and the status bar says why."),
    ("Run", "Preset, data, device, speed-ups, run directory, speed and ETA, and the spectral sigma of each D layer."),
    ("Quality", "Scores of the generator measured in the background (and on request), their best values, each "
                "distance beside its floor (real vs real), and one of them over steps or training seconds."),
    ("Health", "Five detectors judge the run as it trains: D overpowering G, G collapsing, G not covering the data, "
               "diverging, stalled. Each "
               "one's signal against its threshold, the alerts with their evidence and a suggested change; Apply "
               "suggestion, or Rewind to the last checkpoint before the alert. The status-bar badge opens it."),
    ("Runs", "The run directories under runs/ and any you opened: tick several to overlay their curves in Losses, "
             "Margins and Quality (forks marked where they left their parent), see two runs' samples side by side, "
             "and export the comparison."),
    ("Loss lab", "For the scores D gives now, what hinge (with the margins in force), BCE and Wasserstein would do "
                 "with them: each loss and its gradient over D's score, the histograms under them, and how many "
                 "samples get gradient. The loss itself is switched in Controls."),
    ("Sweep", "A sweep (hinge-train sweep, or Sweep from here) seen whole: its arms ranked by their mean score over "
              "the seeds with the spread and the failed runs; tick an arm to see its seeds' scores over steps."),
)


def _readme() -> Path | None:
    path = Path(core.__file__).resolve().parent.parent / "README.md"
    return path if path.is_file() else None


def _description(dist) -> str:
    """The body of the package's metadata file (its long description), read as text: parsing it as an email
    message reads it wrongly once some libraries have been imported (MLflow, W&B)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    return text.split("\n\n", 1)[1] if "\n\n" in text else ""


def guide() -> tuple[str, str]:
    """The README as Markdown and where it was read: beside the source, or (installed from a wheel) the
    installed package's description, which is the README."""
    readme = _readme()
    if readme is not None:
        return readme.read_text(encoding="utf-8"), str(readme)
    try:
        return _description(importlib.metadata.distribution("hinge-workbench")), "the installed package"
    except importlib.metadata.PackageNotFoundError:
        return "", "nowhere: neither a source tree nor an installed package"


def shortcuts_html(actions) -> str:
    rows = "".join(f"<tr><td><b>{a.shortcut().toString()}</b></td><td>{a.text().replace('&', '')}</td></tr>"
                   for a in actions if not a.shortcut().isEmpty())
    return f"<table cellspacing=6>{rows}</table>"


def tour_html() -> str:
    return "".join(f"<p><b>{name}</b>: {text}</p>" for name, text in TOUR) + \
        "<p>View shows or hides the docks; View &gt; Reset layout puts them back.</p>"


def files_html(run_dir: str | None) -> str:
    readme = _readme()
    where = f"<code>{Path(run_dir).resolve()}</code>" if run_dir else "none yet (start a run from the File menu)"
    guide = (f"<code>{readme}</code> (Help &gt; Guide shows it)" if readme else
             "Help &gt; Guide shows it, from the installed package; the docs/ folder of the source has the rest")
    return (f"<p><b>This run's directory</b>: {where}</p><p>It holds config.json (the settings), metrics.csv "
            "(one row per step), events.jsonl (every change and its step), quality.jsonl, checkpoints/ (last.pt, "
            "step-N.pt), samples/, live/ (the latest state, for a window attached from elsewhere) and "
            "commands.jsonl (append a command to steer the run from anywhere). New runs go to runs/PRESET-TIME under the directory the workbench was "
            f"started in, unless --run-dir says otherwise.</p><p><b>The guide (README)</b>: {guide}</p>"
            "<p><b>Headless</b>: <code>hinge-train train --resume RUN/checkpoints/last.pt</code> continues a run; "
            "<code>hinge-workbench --attach RUN</code> watches and steers one that trains elsewhere, "
            "<code>--attach host:RUN</code> one on another machine, over ssh.</p>")


def about_html(device: str) -> str:
    import pyqtgraph
    import PySide6

    return (f"<b>Hinge-GAN Workbench {core.__version__}</b><br>Train GANs with the hinge loss and watch them learn."
            f"<br><br>Python {platform.python_version()} · PySide6 {PySide6.__version__} · "
            f"pyqtgraph {pyqtgraph.__version__}<br>Engine device: {device}")


def show_guide(parent) -> QDialog:
    text, where = guide()
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Guide: {where}")
    browser = QTextBrowser()
    browser.setOpenExternalLinks(True)
    browser.setMarkdown(text or "The guide could not be found: " + where)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.resize(820, 640)
    dialog.browser = browser
    dialog.show()
    return dialog


def show(parent, title: str, html: str) -> None:
    box = QMessageBox(QMessageBox.Information, title, html, QMessageBox.Ok, parent)
    box.setTextFormat(Qt.RichText)
    box.exec()
