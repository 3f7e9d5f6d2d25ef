"""The menu bar: File (workbench.file_menu), Run, View and Help."""
from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from core.protocol import commands as C
from workbench import help as help_pages
from workbench.actions import add_action
from workbench.file_menu import FileMenu


def build_menus(window) -> None:
    bar = window.menuBar()
    window.file_menu = FileMenu(window, bar.addMenu("&File"))
    window.export_action = window.file_menu.export_action

    run = bar.addMenu("&Run")
    window.pause_action = add_action(window, run, "Pause / resume", window.controls.toggle_pause, "Space")
    add_action(window, run, "Step once", lambda: window.send(C.Step(1)), "Ctrl+Right")
    add_action(window, run, "Step N", lambda: window.send(C.Step(window.controls.step_n.value())))
    add_action(window, run, "Spectral norm on/off", window.toggle_spectral_norm)
    add_action(window, run, "Evaluate now", lambda: window.send(C.Evaluate()), "Ctrl+Shift+E",
               "Score the generator now (FID, coverage; mode metrics for 2D), in the background")

    view = bar.addMenu("&View")
    for dock in window.docks:
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    add_action(window, view, "Reset layout", window.reset_layout)

    help_menu = bar.addMenu("&Help")
    add_action(window, help_menu, "Keyboard shortcuts", lambda: help_pages.show(
        window, "Keyboard shortcuts", help_pages.shortcuts_html(window.findChildren(QAction))), "F1")
    add_action(window, help_menu, "Tour of the window", lambda: help_pages.show(
        window, "Tour of the window", help_pages.tour_html()))
    add_action(window, help_menu, "Guide", lambda: help_pages.show_guide(window))
    add_action(window, help_menu, "Where are my files?", lambda: help_pages.show(
        window, "Where are my files?", help_pages.files_html(window.spec.run_dir if window.spec else None)))
    help_menu.addSeparator()
    add_action(window, help_menu, "About", lambda: QMessageBox.about(
        window, "About Hinge-GAN Workbench", help_pages.about_html(window.model.info.get("device", "not started"))))
