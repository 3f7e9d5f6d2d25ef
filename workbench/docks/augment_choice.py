"""DiffAugment's policies as three ticks (colour, translation, cutout): a tick sends the policies ticked,
and the ticks show the policies the engine echoed, once it has echoed the ones last sent."""
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QWidget

from core.config import AUGMENTATIONS
from core.protocol import commands as C

TIPS = {"color": "random brightness, saturation and contrast", "translation": "random shifts of up to 1/8 of the "
        "image", "cutout": "a random square of half the image's side blanked"}


class AugmentChoice(QWidget):
    def __init__(self, send, parent=None):
        super().__init__(parent)
        self.send = send
        self.setToolTip("DiffAugment (Zhao et al. 2020): the same random transforms on real and fake images before D, "
                        "so D cannot memorise a small dataset; all three are its full policy")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.ticks = {}
        self.pending = None  # the policies sent and not yet echoed: an older echo must not untick a newer click
        for name in AUGMENTATIONS:
            tick = self.ticks[name] = QCheckBox(name)
            tick.setToolTip(TIPS[name])
            tick.clicked.connect(self._send_ticked)
            layout.addWidget(tick)
        layout.addStretch(1)

    def policies(self) -> str:
        return ",".join(name for name, tick in self.ticks.items() if tick.isChecked()) or "off"

    def _send_ticked(self) -> None:
        self.pending = self.policies()
        self.send(C.SetAugment(self.pending))

    def show_policies(self, policies: str) -> None:
        if self.pending is not None and policies != self.pending:
            return
        self.pending = None
        on = set(policies.split(","))
        for name, tick in self.ticks.items():
            tick.setChecked(name in on)

    def clear(self) -> None:
        """No engine to echo: nothing ticked, nothing awaited."""
        self.pending = None
        for tick in self.ticks.values():
            tick.setChecked(False)
