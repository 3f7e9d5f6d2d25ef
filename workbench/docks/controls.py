"""Steering: pause, step, margins, spectral norm, learning rates, n_dis, the loss, augmentation.

Every control shows the value the engine echoed after applying it, never an optimistic guess: an
edit is sent as a command, and the widget takes the engine's value at the next refresh.
"""
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from core.analysis.losslab import LOSS_KINDS
from core.config import unused_settings
from core.protocol import commands as C
from core.protocol.states import RunState, SeenState
from workbench.docks.augment_choice import AugmentChoice
from workbench.model import RunModel


def _spin(lo, hi, decimals, step, tip) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)
    box.setToolTip(tip)
    return box


class ControlsDock(QDockWidget):
    def __init__(self, model: RunModel, send, parent=None):
        super().__init__("Controls", parent)
        self.setObjectName("controls_dock")
        self.model = model
        self.send = send
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.step_button = QPushButton("Step once")
        self.step_button.clicked.connect(lambda: self.send(C.Step(1)))
        self.step_n = QSpinBox()
        self.step_n.setRange(1, 1_000_000)
        self.step_n.setValue(100)
        self.step_n_button = QPushButton("Step N")
        self.step_n_button.clicked.connect(lambda: self.send(C.Step(self.step_n.value())))

        # the boxes accept what the engine refuses (negative margins, a zero rate), so that a refusal is
        # said in the status bar rather than silently clamped by the box
        self.margin_real = _spin(-100.0, 100.0, 3, 0.1, "m_real: real samples get gradient while D(x) < m_real")
        self.margin_fake = _spin(-100.0, 100.0, 3, 0.1, "m_fake: fakes get gradient while D(G(z)) > -m_fake")
        self.link = QCheckBox("link")
        self.link.setToolTip("Keep both margins equal (here and when dragging a margin line)")
        self.link.toggled.connect(self._link_toggled)
        self.margin_real.valueChanged.connect(lambda v: self._margins_edited(v, None))
        self.margin_fake.valueChanged.connect(lambda v: self._margins_edited(None, v))
        self.spectral_norm = QCheckBox("Spectral normalization on D")
        self.spectral_norm.clicked.connect(lambda on: self.send(C.SetSpectralNorm(on)))
        self.lr_g = _spin(0.0, 10.0, 6, 1e-5, "Generator learning rate (Adam)")
        self.lr_d = _spin(0.0, 10.0, 6, 1e-5, "Discriminator learning rate (Adam)")
        self.lr_g.valueChanged.connect(lambda v: self._user_edit() and self.send(C.SetLearningRates(lr_g=v)))
        self.lr_d.valueChanged.connect(lambda v: self._user_edit() and self.send(C.SetLearningRates(lr_d=v)))
        self.n_dis = QSpinBox()
        self.n_dis.setRange(0, 1000)
        self.n_dis.setKeyboardTracking(False)
        self.n_dis.setToolTip("Discriminator steps per generator step")
        self.n_dis.valueChanged.connect(lambda v: self._user_edit() and self.send(C.SetNDis(v)))
        self.loss = QComboBox()
        self.loss.addItems(LOSS_KINDS)
        self.loss.setToolTip("The losses of D and G from the next step on (the Loss lab compares them on D's scores)")
        self.loss.currentTextChanged.connect(lambda kind: self._user_edit() and self.send(C.SetLoss(kind)))
        self.augment = AugmentChoice(send)
        self._updating = False
        for box in (self.margin_real, self.margin_fake, self.lr_g, self.lr_d, self.n_dis):
            box.setSpecialValueText("–")  # shown at the minimum, which is where an idle box is parked
            box.blockSignals(True)
            box.setValue(box.minimum())
            box.blockSignals(False)
        for box in (self.margin_real, self.margin_fake, self.lr_g, self.lr_d, self.n_dis, self.step_n):
            box.installEventFilter(self)

        run_box = QGroupBox("Run")
        run_row = QHBoxLayout(run_box)
        for w in (self.pause_button, self.step_button, self.step_n, self.step_n_button):
            run_row.addWidget(w)
        margin_box = self.margin_box = QGroupBox("Margins")
        margin_form = QFormLayout(margin_box)
        margin_form.addRow("m_real", self.margin_real)
        margin_form.addRow("m_fake", self.margin_fake)
        margin_form.addRow("", self.link)
        optim_box = QGroupBox("Discriminator and optimizers")
        optim_form = QFormLayout(optim_box)
        optim_form.addRow(self.spectral_norm)
        optim_form.addRow("lr G", self.lr_g)
        optim_form.addRow("lr D", self.lr_d)
        optim_form.addRow("n_dis", self.n_dis)
        optim_form.addRow("loss", self.loss)
        optim_form.addRow("augment", self.augment)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        for box in (run_box, margin_box, optim_box):
            layout.addWidget(box)
        layout.addStretch(1)
        self.setWidget(body)
        self.setEnabled(False)

    def _user_edit(self) -> bool:
        return not self._updating

    def _link_toggled(self, on: bool) -> None:
        """Linking makes the margins equal at once, to m_real, and keeps them so."""
        self.model.margins_linked = on
        s = self.model.settings
        if on and s is not None and s.margin_real != s.margin_fake:
            self.send(C.SetMargins(s.margin_real, s.margin_real))

    def _margins_edited(self, real, fake) -> None:
        """Send the edited margin (both, if linked) with the other as the engine last echoed it."""
        if self._updating or self.model.settings is None:
            return
        self.send(C.SetMargins(*self.model.margins_for_edit(real, fake)))

    def toggle_pause(self) -> None:
        self.send(C.Resume() if self.model.state in (RunState.PAUSED, RunState.DONE) else C.Pause())

    def refresh(self, model: RunModel) -> None:
        live = model.state in (RunState.RUNNING, RunState.PAUSED, RunState.DONE)
        self.setEnabled(live or model.state == RunState.DIVERGED)
        self.pause_button.setText("Resume" if model.state in (RunState.PAUSED, RunState.DONE, RunState.DIVERGED)
                                  else "Pause")
        for w in (self.pause_button, self.step_button, self.step_n_button):
            w.setEnabled(live)
        s = model.settings if model.state not in (SeenState.STARTING, SeenState.FAILED) else None
        boxes = (self.margin_real, self.margin_fake, self.lr_g, self.lr_d, self.n_dis)
        self._updating = True
        try:
            if s is None:  # no engine to echo: each box shows its special text, "–", not a made-up value
                for box in boxes:
                    box.setValue(box.minimum())
                self.augment.clear()
                return
            for box, value in zip(boxes, (s.margin_real, s.margin_fake, s.lr_g, s.lr_d, s.n_dis)):
                if not box.hasFocus() and box.value() != value:
                    box.setValue(value)
            self.spectral_norm.setChecked(s.spectral_norm)
            if self.loss.currentText() != s.loss:
                self.loss.setCurrentText(s.loss)
            self.augment.show_policies(s.augment)
            self.augment.setEnabled(not model.info.get("is_2d", False))
            self._say_margins_unused(unused_settings(s.loss).get("loss.margin_real"))
        finally:
            self._updating = False

    def _say_margins_unused(self, why: str | None) -> None:
        """Under BCE or Wasserstein the margins train nothing: the box says so (they count again under the hinge)."""
        self.margin_box.setTitle("Margins" if why is None else "Margins: not used by the loss in force")
        self.margin_box.setToolTip("" if why is None else f"{why.capitalize()}; they take effect again when the "
                                                          "loss is switched back to hinge.")

    def eventFilter(self, watched, event) -> bool:
        """Space pauses and resumes even while a number box has the keyboard (it types nothing there)."""
        if event.type() == QEvent.KeyPress and event.key() == Qt.Key_Space:
            self.toggle_pause()
            return True
        return super().eventFilter(watched, event)
