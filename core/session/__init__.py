"""A training session: the loop around a Trainer (core.session.loop) and its parts, one concern each."""
from core.session.loop import Session

__all__ = ["Session"]
