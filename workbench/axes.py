"""One rule for axis ranges: a plot's range follows its data, but a few outliers (a divergence the run
recovered from) do not squash the rest into a flat line; what must stay in view (the margins) stays; and
a user's own zoom holds until the plot's "A" button hands it back."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

TAIL = 0.01  # this share of the points at each end may fall outside the view
PAD = 0.08


def robust_span(arrays, include=(), tail: float = TAIL, pad: float = PAD) -> tuple[float, float] | None:
    """The range from the `tail` to the 1 - `tail` quantile of the arrays' finite values, widened to hold
    `include`, padded; None without data."""
    values = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays]) if len(arrays) else np.zeros(0)
    values = values[np.isfinite(values)]
    if not len(values) and not len(include):
        return None
    lo, hi = (np.quantile(values, [tail, 1 - tail]) if len(values) else (min(include), max(include)))
    lo, hi = min(lo, *include) if include else lo, max(hi, *include) if include else hi
    span = hi - lo or max(abs(hi), 1.0)
    return float(lo - pad * span), float(hi + pad * span)


class FollowRange:
    """Keeps one axis of a plot on robust_span of what it is given, until the user zooms or pans it."""

    def __init__(self, plot: pg.PlotItem, axis: str = "y"):
        self.plot, self.axis, self.following = plot, axis, True
        view = plot.getViewBox()
        view.sigRangeChangedManually.connect(self._user_moved)
        plot.autoBtn.clicked.connect(self._handed_back)
        view.enableAutoRange(axis="x" if axis == "y" else "y")

    def _user_moved(self, changed) -> None:
        if changed[1 if self.axis == "y" else 0]:
            self.following = False

    def _handed_back(self) -> None:
        self.following = True

    def update(self, arrays, include=()) -> tuple[float, float] | None:
        span = robust_span(arrays, include)
        if span is not None and self.following:
            set_range = self.plot.setYRange if self.axis == "y" else self.plot.setXRange
            set_range(*span, padding=0)
        return span
