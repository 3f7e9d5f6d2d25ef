"""Where the seconds of a start go: `hinge-workbench --profile-startup` prints each stage the window and its
engine process reached, counted from the moment the window's process started, then closes the window."""
from __future__ import annotations

ORDER = ("window process started", "engine spawned", "window imported (Qt)", "window shown",
         "engine process started", "engine imported (torch)", "session ready", "first step seen in the window")


def report(stages: dict[str, float]) -> str:
    """The stages in the order they happened, each with its time since launch and since the stage before."""
    known = {name: t for name, t in stages.items() if t is not None}
    start = known.get("window process started", min(known.values(), default=0.0))
    lines, previous = [f"{'stage':32s} {'since launch':>13s} {'step':>7s}"], start
    for name, t in sorted(known.items(), key=lambda item: (item[1], ORDER.index(item[0]) if item[0] in ORDER else 99)):
        lines.append(f"{name:32s} {t - start:12.2f}s {t - previous:+6.2f}s")
        previous = t
    return "\n".join(lines)
