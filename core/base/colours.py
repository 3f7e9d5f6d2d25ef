"""Every colour the project draws with, in one place, for the window (Qt) and the pictures it writes (Pillow):
the live run's series, the losses compared in the loss lab, 2D points, alerts, and the colours of other runs
overlaid for comparison, chosen so that no overlaid run can be taken for a live series."""
from core.base.errors import ConfigError

D_LOSS, G_LOSS, REAL, FAKE = "#4e9af1", "#f28e2b", "#59a14f", "#e15759"  # D real part and D(real) are REAL
LIVE = (D_LOSS, G_LOSS, REAL, FAKE)
LOSSES = {"hinge": "#1f77b4", "bce": "#e6781e", "wasserstein": "#7b3294"}  # the loss lab's three losses
REAL_POINTS, FAKE_POINTS = "#787880", "#f58214"  # 2D data: real points grey, generated orange
ALERT, HEALTHY, CAUTION = "#c62828", "#2e7d32", "#8a5a00"
# purple, brown, magenta, olive, dark cyan, grey, gold, navy: away from the live blue, orange, green and red
RUNS = ("#7b3294", "#8c564b", "#d01c8b", "#7f7f00", "#00838f", "#5f5f5f", "#b8860b", "#283593")


def run_colour(index: int) -> str:
    return RUNS[index % len(RUNS)]


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def rgba(colour: str, alpha: int) -> tuple[int, int, int, int]:
    return (*rgb(colour), alpha)


def colour_setting(name: str, text: str) -> tuple[int, int, int]:
    """A colour a user typed ('white', '#ffcc00', 'rgb(0,0,0)': what CSS and Pillow read) as (r, g, b)."""
    from PIL import ImageColor  # only settings that name a colour need it

    try:
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        raise ConfigError(f"{name} = {text!r} is not a colour (a name such as white or black, or #rrggbb)") from None
