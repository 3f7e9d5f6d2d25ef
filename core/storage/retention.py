"""What a long run keeps, so that its disk grows far slower than its steps: the newest step-N.pt checkpoints
(and every train.keep_every-th), every recent timelapse frame and histogram line and a thinning sample of the
older ones, spaced further apart the older they are. Pure rules over step numbers; RunDir applies them."""
from __future__ import annotations

RECENT_FRAMES = 256  # timelapse frames (and histogram lines) all kept at the newest end
PER_OCTAVE = 32  # older ones: at most this many per doubling of their age
THIN_EVERY = 64  # thin when this many frames arrived since the last thinning


def checkpoints_to_keep(steps: list[int], keep: int, every: int, healthy: int | None = None) -> set[int]:
    """The step-N.pt to keep: the newest `keep` (all when 0), every multiple of `every` (none when 0) and,
    once a health alert was raised, the newest at or before its last healthy step (what a rewind goes back to)."""
    ordered = sorted(steps)
    kept = set(ordered if keep == 0 else ordered[-keep:])
    if every:
        kept |= {s for s in ordered if s % every == 0}
    if healthy is not None:
        kept |= set([s for s in ordered if s <= healthy][-1:])
    return kept


def frames_to_keep(steps: list[int], recent: int = RECENT_FRAMES, per_octave: int = PER_OCTAVE) -> set[int]:
    """The newest `recent` steps all; the older ones thinned by age. Their ages (steps before the oldest recent
    one) fall in bands [0, A), [A, 2A), [2A, 4A), ... where A is the recent span; a band is cut into about
    `per_octave` slots of a power-of-two number of steps, and each slot keeps its earliest step. Slots nest as
    they widen with age, so applying the rule again later only removes more, and what it keeps stays spread."""
    ordered = sorted(steps)
    if len(ordered) <= recent:
        return set(ordered)
    kept = set(ordered[-recent:])
    edge = ordered[-recent]
    span = max(1, ordered[-1] - edge)
    slots: dict[tuple[int, int], int] = {}
    for step in ordered[:-recent]:
        age = edge - step
        width = span if age < span else span << max(0, (age // span).bit_length() - 1)
        slot = 1 << max(0, (-(-width // per_octave) - 1).bit_length())  # a power of two >= width / per_octave
        slots.setdefault((slot, step // slot), step)
    return kept | set(slots.values())
