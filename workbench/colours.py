"""The window's colours, in one place: the live run's series, and the colours of other runs overlaid for
comparison, chosen so that no overlaid run can be taken for a live series."""

D_LOSS, G_LOSS, REAL, FAKE = "#4e9af1", "#f28e2b", "#59a14f", "#e15759"  # D real part and D(real) are REAL
LIVE = (D_LOSS, G_LOSS, REAL, FAKE)
# purple, brown, magenta, olive, dark cyan, grey, gold, navy: away from the live blue, orange, green and red
RUNS = ("#7b3294", "#8c564b", "#d01c8b", "#7f7f00", "#00838f", "#5f5f5f", "#b8860b", "#283593")


def run_colour(index: int) -> str:
    return RUNS[index % len(RUNS)]


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def key(entries) -> str:
    """A plot's key as one line of its title, (label, colour) each: it never covers the data as a legend box
    does, and compared runs stay out of it (the Runs dock's ticked rows are their key)."""
    return "&nbsp;&nbsp;&nbsp;".join(f"<span style='color:{colour}'>&#9473;&nbsp;{label}</span>"
                                     for label, colour in entries)
