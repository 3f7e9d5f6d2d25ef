"""Training health: detectors that turn what a session already measures into a diagnosis (each a small pure
function of a window of numbers), and the monitor that says when an alert is raised and when it clears.
No torch: the window's process names the detectors too."""
from core.health.detectors import (UNDER_LOSS, Finding, RunFacts, d_memorises, d_overpowers, diverging, g_collapse,
                                   not_covering, stalled)
from core.health.monitor import DETECTORS, HealthMonitor, Reading

__all__ = ["UNDER_LOSS", "Finding", "RunFacts", "d_memorises", "d_overpowers", "diverging", "g_collapse",
           "not_covering", "stalled",
           "DETECTORS", "HealthMonitor", "Reading"]
