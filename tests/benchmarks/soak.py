"""Soak: the workbench live for a long time; reports crashes, memory growth and the GUI timer's p99.

Not a test. From the repository root:

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/soak.py --preset digits --minutes 30

The last line is JSON.
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gui_overhead import windowed  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--screenshot", help="save the window as this PNG at the end")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    overrides = [x for kv in args.set for x in ("--set", kv)]
    with tempfile.TemporaryDirectory() as tmp:
        rate, intervals, growth, _, window = windowed(app, args.preset, 60 * args.minutes, Path(tmp) / "soak", overrides,
                                                   args.screenshot)
    ms = sorted(1000 * i for i in intervals)
    result = {"preset": args.preset, "minutes": args.minutes, "steps_per_s": round(rate, 2),
              "failure": window.model.failure.message if window.model.failure else None,
              "steps": window.model.step, "gui_memory_growth_mb": round(growth["window"], 1),
              "engine_memory_growth_mb": round(growth["engine"], 1),
              "timer_ms_p50": round(ms[len(ms) // 2], 1), "timer_ms_p99": round(ms[int(len(ms) * 0.99)], 1)}
    print(f"{result['steps']} steps in {args.minutes} min, {rate:.1f} steps/s, crash: {result['failure']}, "
          f"memory: window {growth['window']:+.1f} MB, engine {growth['engine']:+.1f} MB, timer p99 {result['timer_ms_p99']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
