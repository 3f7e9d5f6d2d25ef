"""`hinge-train sweep`: many runs from one description. Every combination of the --grid values is an arm, and
every arm is trained once per seed, each run a real run directory (a fork of --from's run, when given), K at a
time with the cores shared out, its health watched: a run that diverges, collapses or never covers its data is
stopped and counted as failed, never averaged in. DIR/sweep.json says what the sweep is (core.storage.sweeps);
the same command again continues it (finished runs are kept, half-done ones resume from their last.pt), and
`--worker DIR` on any machine that sees DIR takes runs from it too (core.tools.sweep_worker)."""
from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from core.base.cpu import usable_cores
from core.base.errors import UserError
from core.storage.layout import SweepLayout
from core.storage.sweeps import Sweep, open_sweep, summary, table, write_csv
from core.tools.sweep_worker import work


def cmd_sweep(args) -> int:
    out = Path(args.worker or args.out or "")
    if args.worker:
        sweep = open_sweep(out)
        threads = 1
    else:
        if not args.out:
            raise UserError("a sweep needs --out DIR (or --worker DIR to help with one)")
        if args.parallel < 1:
            raise UserError(f"--parallel must be at least 1, got {args.parallel}")
        sweep = open_sweep(out, Sweep.plan(args))
        threads = args.parallel
    cores = max(1, usable_cores() // threads)
    workers = [threading.Thread(target=work, args=(sweep, out, cores), daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            while worker.is_alive():
                worker.join(0.5)  # a Ctrl+C reaches this thread between joins
    except KeyboardInterrupt:  # the runs got it too: each stops at its next step and saves its last.pt
        for worker in workers:
            worker.join(60)
        print(f"hinge-train: sweep interrupted; the same command continues it ({out})", file=sys.stderr)
        return 130
    rows = summary(sweep, out)
    print(table(sweep, rows))
    write_csv(rows, SweepLayout(out).summary)
    print(json.dumps({"sweep": str(out), "metric": sweep.metric, "lower_is_better": sweep.lower_is_better,
                      "arms": [{k: r[k] for k in ("arm", "settings", "seeds", "mean", "std", "failed", "scores")}
                               for r in rows]}))
    sys.stdout.flush()
    return 0
