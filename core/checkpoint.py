"""`python -m core.checkpoint CKPT [--describe]`: whether CKPT loads (exit 0, or one line on stderr and
exit 2), and with --describe its step and config as one JSON line. The window asks this of a file in a
short-lived process, so torch stays out of the window's; the format itself is core.training.checkpoint."""
import sys

from core.training.checkpoint import main

if __name__ == "__main__":
    sys.exit(main())
