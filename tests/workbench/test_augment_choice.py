from PySide6.QtCore import Qt

from core.protocol import commands as C
from workbench.docks.augment_choice import AugmentChoice


def test_an_older_echo_does_not_untick_a_newer_click(qtbot):
    sent = []
    choice = AugmentChoice(sent.append)
    qtbot.addWidget(choice)
    choice.show()
    qtbot.mouseClick(choice.ticks["cutout"], Qt.LeftButton)
    choice.show_policies("cutout")
    qtbot.mouseClick(choice.ticks["color"], Qt.LeftButton)
    choice.show_policies("cutout")  # the engine's echo from before the click arrives after it
    assert choice.ticks["color"].isChecked()
    qtbot.mouseClick(choice.ticks["cutout"], Qt.LeftButton)  # so this click sends colour alone, not "off"
    assert sent == [C.SetAugment("cutout"), C.SetAugment("color,cutout"), C.SetAugment("color")]
    choice.show_policies("color")
    choice.show_policies("translation")  # once the last request is echoed, the engine's word counts again
    assert [name for name, tick in choice.ticks.items() if tick.isChecked()] == ["translation"]


def test_without_an_engine_nothing_is_ticked_or_awaited(qtbot):
    choice = AugmentChoice(lambda command: None)
    qtbot.addWidget(choice)
    choice.show()
    qtbot.mouseClick(choice.ticks["color"], Qt.LeftButton)
    choice.clear()
    choice.show_policies("cutout")
    assert [name for name, tick in choice.ticks.items() if tick.isChecked()] == ["cutout"]
