"""GUI overhead: training speed with the workbench open and plotting vs headless `hinge-train`.

Not a test (pytest does not collect it). Run from the repository root:

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/gui_overhead.py --preset ring8 --seconds 30 --rounds 2 --load 1

Each round trains the same preset headless (a `hinge-train` process) and in the workbench (the
window in this process, the engine in its child), in alternating order, and reads the speed from
each run's metrics.csv over the same steady window. It also reports the GUI timer's interval
p50/p99, the window process's CPU use and its resident-memory growth. With `--load N`, N processes of
`while True: pass` (a browser tab, a build) keep cores busy through every round, headless and windowed
alike. The last line is JSON.
"""
import argparse
import contextlib
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def steady_rate(run_dir: Path, skip_s: float = 3.0) -> float:
    with open(run_dir / "metrics.csv") as f:
        rows = [(int(r["step"]), float(r["wall_time"])) for r in csv.DictReader(f)]
    start = rows[0][1] + skip_s
    steady = [(s, t) for s, t in rows if t >= start]
    if len(steady) < 2:
        return float("nan")  # too few steps to time: a run too short for this machine
    (s0, t0), (s1, t1) = steady[0], steady[-1]
    return (s1 - s0) / (t1 - t0)


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process; NaN once it has ended."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except FileNotFoundError:
        return float("nan")


def cpu_clock() -> tuple[float, float]:
    return time.process_time(), time.monotonic()


def headless(preset: str, seconds: float, run_dir: Path, overrides) -> float:
    cmd = [sys.executable, "-m", "core.cli", "train", "--preset", preset, "--steps", "100000000",
           "--run-dir", str(run_dir), *overrides]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    proc.terminate()
    proc.wait(30)
    return steady_rate(run_dir)


def windowed(app, preset: str, seconds: float, run_dir: Path, overrides, screenshot: str | None = None):
    """(steps/s, GUI timer intervals, memory growth in MB of the window and engine processes, the window
    process's CPU use in cores, the closed window) of a live run."""
    from PySide6.QtCore import QSettings, QTimer

    from core.config import resolve
    from workbench.main_window import MainWindow
    from workbench.runner import RunSpec

    cfg = resolve(preset, overrides=[o for o in overrides[1::2]])
    window = MainWindow(settings=QSettings(str(run_dir.parent / "bench.ini"), QSettings.IniFormat))
    window.show()
    window.start(RunSpec(cfg.to_dict(), str(run_dir), "cpu"))
    intervals, last = [], [time.monotonic()]

    def tick():
        now = time.monotonic()
        intervals.append(now - last[0])
        last[0] = now

    window.timer.timeout.connect(tick)
    rss_start, cpu_start, engine = [], [], window.runner.pid

    def after_start_up():
        rss_start.append((rss_mb(), rss_mb(engine)))
        cpu_start.append(cpu_clock())

    def before_quitting():  # quitting stops the engine
        rss_end.append((rss_mb(), rss_mb(engine)))
        app.quit()

    rss_end = []
    QTimer.singleShot(5000, after_start_up)
    QTimer.singleShot(int(seconds * 1000), before_quitting)
    app.exec()  # the real event loop, as hinge-workbench runs it
    (window0, engine0), (window1, engine1) = rss_start[0] if rss_start else rss_end[0], rss_end[0]
    growth = {"window": window1 - window0, "engine": engine1 - engine0}
    (cpu0, wall0), (cpu1, wall1) = cpu_start[0] if cpu_start else cpu_clock(), cpu_clock()
    cores = (cpu1 - cpu0) / (wall1 - wall0) if wall1 > wall0 else float("nan")
    if screenshot:
        window.grab().save(screenshot)
    window.close()
    return steady_rate(run_dir), intervals[len(intervals) // 5:], growth, cores, window


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="ring8")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--load", type=int, default=0, help="busy processes beside both runs")
    args = parser.parse_args()
    overrides = [x for kv in args.set for x in ("--set", kv)]

    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    ratios, all_intervals, growths, cpu, rates = [], [], [], [], []
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.load)]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as cleanup:
        cleanup.callback(lambda: [(p.kill(), p.wait()) for p in busy])
        for r in range(args.rounds):  # the order alternates, so a drift in the machine's speed favours neither
            if r % 2 == 0:
                base = headless(args.preset, args.seconds, Path(tmp) / f"headless-{r}", overrides)
            gui, intervals, growth, cores, _ = windowed(app, args.preset, args.seconds, Path(tmp) / f"gui-{r}",
                                                        overrides)
            if r % 2 == 1:
                base = headless(args.preset, args.seconds, Path(tmp) / f"headless-{r}", overrides)
            ratios.append(gui / base)
            rates.append((base, gui))
            all_intervals += intervals
            growths.append(growth["window"])
            cpu.append(cores)
            print(f"round {r + 1}: headless {base:.1f} steps/s, window {gui:.1f} steps/s, ratio {gui / base:.3f}, "
                  f"GUI memory growth {growth['window']:+.1f} MB, window process CPU {100 * cores:.1f}% of a core",
                  flush=True)
    ms = sorted(1000 * i for i in all_intervals)
    result = {"preset": args.preset, "load": args.load, "seconds": args.seconds,
              "headless_steps_per_s": [round(b, 2) for b, _ in rates], "window_steps_per_s": [round(g, 2) for _, g in rates],
              "ratio_median": round(statistics.median(ratios), 3),
              "timer_ms_p50": round(ms[len(ms) // 2], 1), "timer_ms_p99": round(ms[int(len(ms) * 0.99)], 1),
              "gui_memory_growth_mb": round(max(growths), 1), "gui_cpu_cores": round(statistics.median(cpu), 3)}
    print(f"window/headless {result['ratio_median']:.3f}; GUI timer p50 {result['timer_ms_p50']} ms, "
          f"p99 {result['timer_ms_p99']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
