"""The window's colours (core.base.colours holds them all) and the one-line key a plot's title shows."""
from core.base.colours import (ALERT, CAUTION, D_LOSS, FAKE, FAKE_POINTS, G_LOSS, HEALTHY, LIVE, LOSSES, REAL,  # noqa: F401
                               REAL_POINTS, RUNS, rgb, rgba, run_colour)


def key(entries) -> str:
    """A plot's key as one line of its title, (label, colour) each: it never covers the data as a legend box
    does, and compared runs stay out of it (the Runs dock's ticked rows are their key)."""
    return "&nbsp;&nbsp;&nbsp;".join(f"<span style='color:{colour}'>&#9473;&nbsp;{label}</span>"
                                     for label, colour in entries)
