"""The loss lab as one picture (what `hinge-train losses` writes): D's loss, its derivative with respect to D's
score, and G's loss with its derivative, each over the score range the histograms hold, with the real and fake
histograms shaded under the curves, and a table of who gets gradient under each loss. Pillow only."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.analysis.losslab import LOSS_KINDS, Scores, d_losses, g_loss, gradients
from core.base.colours import FAKE, LOSSES, REAL, rgb
from core.pictures import nice_ceiling

COLOURS = {kind: rgb(colour) for kind, colour in LOSSES.items()}
REAL_SHADE, FAKE_SHADE = rgb(REAL), rgb(FAKE)
WIDTH, PANEL_H, PAD_L, PAD_R, PAD_T, GAP = 900, 190, 60, 20, 40, 46


def score_span(scores: Scores, margins: tuple[float, float], tail: float = 0.005) -> tuple[float, float]:
    """From the `tail` to the 1 - `tail` quantile of all the scores the histograms hold, with both margins
    (and -1..1), padded."""
    centres = (scores.edges[:-1] + scores.edges[1:]) / 2
    counts = scores.real + scores.fake
    cumulative = np.cumsum(counts) / max(counts.sum(), 1e-9)
    held = centres[(cumulative >= tail) & (cumulative <= 1 - tail) | (counts.sum() == 0)]
    lo = min(held.min() if len(held) else -1.0, -margins[1], -1.0)
    hi = max(held.max() if len(held) else 1.0, margins[0], 1.0)
    pad = 0.1 * (hi - lo)
    return lo - pad, hi + pad


class Panel:
    def __init__(self, draw: ImageDraw.ImageDraw, top: int, x_span, y_span, title: str):
        self.draw, self.top, (self.x0, self.x1), (self.y0, self.y1) = draw, top, x_span, y_span
        self.font = ImageFont.load_default()
        draw.text((PAD_L, top - 16), title, fill=(0, 0, 0), font=self.font)
        draw.rectangle([PAD_L, top, WIDTH - PAD_R, top + PANEL_H], outline=(0, 0, 0))

    def px(self, x, y):
        u = PAD_L + (np.asarray(x) - self.x0) / (self.x1 - self.x0) * (WIDTH - PAD_L - PAD_R)
        v = self.top + PANEL_H - (np.asarray(y) - self.y0) / (self.y1 - self.y0) * PANEL_H
        return u, np.clip(v, self.top, self.top + PANEL_H)

    def shade(self, x, heights, colour) -> None:
        """A histogram under the curves, scaled to the panel's height."""
        tallest = max(heights.max(), 1e-9)
        for left, right, height in zip(x[:-1], x[1:], heights):
            if height > 0:
                u0, _ = self.px(left, 0)
                u1, _ = self.px(right, 0)
                v = self.top + PANEL_H - 0.85 * PANEL_H * height / tallest
                self.draw.rectangle([u0, v, u1, self.top + PANEL_H], fill=tuple(int(255 - 0.3 * (255 - c))
                                                                                  for c in colour))

    def curve(self, x, y, colour, dashed=False) -> None:
        u, v = self.px(x, y)
        points = list(zip(u.tolist(), v.tolist()))
        step = 6 if dashed else 1
        for i in range(0, len(points) - 1, step):
            self.draw.line(points[i:i + (3 if dashed else 2)], fill=colour, width=2)

    def axes(self, zero_line: bool = True) -> None:
        for value in _ticks(self.x0, self.x1):
            u, _ = self.px(value, 0)
            self.draw.line([(u, self.top + PANEL_H), (u, self.top + PANEL_H + 4)], fill=(0, 0, 0))
            self.draw.text((u - 8, self.top + PANEL_H + 6), f"{value:g}", fill=(0, 0, 0), font=self.font)
        for value in _ticks(self.y0, self.y1):
            _, v = self.px(0, value)
            self.draw.line([(PAD_L - 4, v), (PAD_L, v)], fill=(0, 0, 0))
            self.draw.text((6, v - 5), f"{value:>6g}", fill=(0, 0, 0), font=self.font)
        if zero_line and self.y0 < 0 < self.y1:
            _, v = self.px(0, 0)
            self.draw.line([(PAD_L, v), (WIDTH - PAD_R, v)], fill=(170, 170, 170))

    def vertical(self, x, colour) -> None:
        u, _ = self.px(x, 0)
        self.draw.line([(u, self.top), (u, self.top + PANEL_H)], fill=colour, width=1)


def _ticks(lo: float, hi: float) -> np.ndarray:
    step = nice_ceiling((hi - lo) / 6)
    return np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step


def loss_figure(scores: Scores, margins: tuple[float, float], loss_in_force: str = "hinge") -> np.ndarray:
    """The figure as an RGB uint8 image."""
    m_real, m_fake = margins
    span = score_span(scores, margins)
    x = np.linspace(*span, 400)
    rows = len(LOSS_KINDS) + 2
    image = Image.new("RGB", (WIDTH, PAD_T + 16 + 3 * (PANEL_H + GAP) + 16 * rows + 30), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.text((PAD_L, 6), f"Loss lab at step {scores.step:,}: the D(real) (green) and D(fake) (red) histograms under "
                          f"the curves; margins +{m_real:g} / -{m_fake:g}", fill=(0, 0, 0), font=font)
    left = PAD_L
    for kind in LOSS_KINDS:
        draw.line([(left, 29), (left + 18, 29)], fill=COLOURS[kind], width=3)
        label = kind + (" (in force)" if kind == loss_in_force else "")
        draw.text((left + 24, 23), label, fill=(0, 0, 0), font=font)
        left += 40 + 7 * len(label)
    draw.text((left + 20, 23), "solid: real part, dashed: fake part (G: its dL/dD)", fill=(80, 80, 80), font=font)
    curves = {kind: d_losses(kind, x, m_real, m_fake) for kind in LOSS_KINDS}
    g_curves = {kind: g_loss(kind, x) for kind in LOSS_KINDS}
    panels = [("D's loss", [(c[0], c[1]) for c in curves.values()]),
              ("dL/dD: D's gradient with respect to its score", [(c[2], c[3]) for c in curves.values()]),
              ("G's loss on the fakes (solid) and its dL/dD (dashed); hinge and wasserstein give G the same",
               [g for g in g_curves.values()])]
    real_x, real_n = scores.points("real")
    fake_x, fake_n = scores.points("fake")
    for row, (title, pairs) in enumerate(panels):
        values = np.concatenate([np.concatenate(pair) for pair in pairs])
        lo, hi = float(np.quantile(values, 0.0)), float(np.quantile(values, 1.0))
        lo, hi = min(lo, -0.1 if row else 0.0), max(hi, 0.1)
        pad = 0.06 * (hi - lo)
        panel = Panel(draw, PAD_T + 16 + row * (PANEL_H + GAP), span, (lo - pad, hi + pad), title)
        widths = scores.edges[1] - scores.edges[0]
        for xs, counts, colour in ((real_x, real_n, REAL_SHADE), (fake_x, fake_n, FAKE_SHADE)):
            inside = (xs >= span[0]) & (xs <= span[1])
            panel.shade(np.append(xs[inside] - widths / 2, xs[inside][-1] + widths / 2) if inside.any() else xs,
                        counts[inside], colour)
        for (first, second), kind in zip(pairs, LOSS_KINDS):
            panel.curve(x, first, COLOURS[kind])
            panel.curve(x, second, COLOURS[kind], dashed=True)
        panel.vertical(m_real, REAL_SHADE)
        panel.vertical(-m_fake, FAKE_SHADE)
        panel.axes()
    table_top = PAD_T + 16 + 3 * (PANEL_H + GAP) - 10
    columns = (PAD_L, PAD_L + 110, PAD_L + 350, PAD_L + 590)
    header = ("loss", "D on real: get gradient, mean |g|", "D on fake: get gradient, mean |g|",
              "G: get gradient, mean |g|")
    for x0, text in zip(columns, header):
        draw.text((x0, table_top), text, fill=(0, 0, 0), font=font)
    for i, kind in enumerate(LOSS_KINDS):
        g = gradients(kind, scores, m_real, m_fake)
        cells = [kind, *(f"{100 * g[k].share:.1f}% of samples, {g[k].mean:.3f}" for k in ("d_real", "d_fake", "g"))]
        for x0, text in zip(columns, cells):
            draw.text((x0, table_top + 16 * (i + 1)), text, fill=COLOURS[kind], font=font)
    return np.asarray(image)
