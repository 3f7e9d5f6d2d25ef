"""Whether there is a display the window can use, told in one line before Qt is asked (Qt itself aborts with
"Reinstalling the application may fix this problem")."""
from __future__ import annotations

import ctypes
import os
import sys

# What Qt's xcb platform plugin loads (DESIGN's list of a real window's needs), and the Debian/Ubuntu package
# of each.
XCB_LIBRARIES = {"libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
                 "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
                 "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-shape.so.0": "libxcb-shape0",
                 "libxcb-xinerama.so.0": "libxcb-xinerama0", "libxcb-xkb.so.1": "libxcb-xkb1",
                 "libxkbcommon-x11.so.0": "libxkbcommon-x11-0"}


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def display_problem(env=os.environ, loads=_loads) -> str | None:
    """Why the window cannot open here, in one line, or None."""
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "")
    if not platform and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return ("no display found (DISPLAY and WAYLAND_DISPLAY are unset). Train with `hinge-train train ...` "
                "here, and watch the run from a machine with a display; QT_QPA_PLATFORM=offscreen runs the "
                "window without showing it.")
    uses_xcb = platform.startswith("xcb") or (not platform and env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"))
    missing = [name for name in XCB_LIBRARIES if uses_xcb and not loads(name)]
    if missing:
        return (f"the display {env.get('DISPLAY', '')} needs libraries Qt's xcb plugin loads, and these are "
                f"missing: {', '.join(missing)}. Install them (Debian/Ubuntu: sudo apt-get install "
                f"{' '.join(XCB_LIBRARIES[name] for name in missing)}), or run with QT_QPA_PLATFORM=offscreen.")
    return None
