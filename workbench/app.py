"""`hinge-workbench`: open the window on a preset (the embedded digits by default) and start training."""
from __future__ import annotations

import argparse
import signal
import sys

from core.base.clock import process_started, since_boot
from core.base.errors import UserError
from core.protocol.engine import RunSpec
from core.protocol.states import SeenState
from core.run_args import add_run_arguments, plan_run
from core.storage.checkpoint_probe import describe_checkpoint
from core.storage.remote import start_remote_run
from workbench import startup
from workbench.attached import AttachedRunner
from workbench.display import display_problem
from workbench.runner import Runner


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hinge-workbench", description="Train a hinge-loss GAN and watch it learn.")
    add_run_arguments(parser)
    parser.add_argument("--max-steps", type=int, help="stop training after this many steps")
    parser.add_argument("--paused", action="store_true", help="open paused instead of training at once")
    parser.add_argument("--exit-when-done", action="store_true", help="close the window when max-steps is reached")
    parser.add_argument("--in-thread", action="store_true", help="train in a thread of this process (debugging)")
    parser.add_argument("--attach", metavar="RUN_DIR", help="watch and steer a run another process trains (or a "
                                                            "finished one, read-only), here or on another machine "
                                                            "([user@]host:RUN_DIR, over ssh); closing leaves it "
                                                            "training")
    parser.add_argument("--remote", metavar="[user@]HOST", help="start the run on another machine, over ssh, "
                                                              "detached from this window (it trains on when the "
                                                              "window closes), and attach to it")
    parser.add_argument("--ssh", default="ssh", help="with a run on another machine: the ssh command line, e.g. "
                                                     "'ssh -p 2222 -i KEY'")
    parser.add_argument("--remote-hinge-train", default="hinge-train", metavar="PATH",
                        help="hinge-train on the remote machine, where a non-interactive shell's PATH lacks it")
    parser.add_argument("--profile-startup", action="store_true", help="print where the seconds to the first "
                                                                       "training step went, then close")
    return parser


def spec_from_args(args) -> RunSpec:
    """The RunSpec the command line asks for; config errors surface here, before any window opens. A
    checkpoint to resume is read by a short-lived process: torch stays out of this one."""
    if args.max_steps is not None and args.max_steps < 0:
        raise UserError(f"--max-steps must be >= 0, got {args.max_steps}")
    saved = describe_checkpoint(args.resume)["config"] if args.resume else None
    cfg, run_dir = plan_run(args, saved)
    return RunSpec(cfg.to_dict(), str(run_dir), args.device, resume=args.resume, max_steps=args.max_steps,
                   paused=args.paused)


def start_remote(args):
    """The run the command line asks for, started on args.remote (checked here first); its target."""
    if args.config or args.resume:
        raise UserError("--config and --resume name files on this machine; with --remote give --preset and --set")
    cfg, run_dir = plan_run(args, None)
    train = ["--preset", cfg.preset, *(f"--set={item}" for item in args.set), "--device", args.device]
    if args.max_steps is not None:
        train += ["--steps", str(args.max_steps)]
    print(f"hinge-workbench: starting {run_dir} on {args.remote}…", file=sys.stderr)
    return start_remote_run(args.remote, train, str(run_dir), args.ssh, args.remote_hinge_train)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.remote:
            args.attach = str(start_remote(args))
        spec = None if args.attach else spec_from_args(args)
        if args.attach:  # a wrong folder or host is said here, before any window opens
            AttachedRunner(args.attach, args.ssh, args.remote_hinge_train).stop()
    except UserError as exc:
        print(f"hinge-workbench: error: {exc}", file=sys.stderr)
        return 2

    problem = display_problem()
    if problem:
        print(f"hinge-workbench: error: {problem}", file=sys.stderr)
        return 2
    stages = {"window process started": process_started()}
    runner = None
    if not args.attach:  # the engine starts (importing torch, drawing the data) while the window is built
        runner = Runner(in_process=args.in_thread)
        runner.start(spec)
        stages["engine spawned"] = since_boot()
    try:
        return show_window(args, spec, runner, stages)
    finally:
        if runner is not None:
            runner.stop(timeout=0)  # a window that failed to open leaves no engine behind


def show_window(args, spec: RunSpec | None, runner, stages: dict) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from workbench.main_window import MainWindow

    stages["window imported (Qt)"] = since_boot()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Hinge-GAN Workbench")
    app.setOrganizationName("hinge-workbench")
    window = MainWindow(in_process=args.in_thread, exit_when_done=args.exit_when_done)
    window.model.startup.update(stages)
    window.show()
    QTimer.singleShot(0, lambda: window.model.startup.setdefault("window shown", since_boot()))
    window.remote = (args.ssh, args.remote_hinge_train)
    if args.attach:
        window.attach(args.attach, *window.remote)
    else:
        window.start(spec, started=runner)
    for number in (signal.SIGINT, signal.SIGTERM):  # Ctrl+C in its terminal, a logout: closed as by its button
        signal.signal(number, lambda *_: QTimer.singleShot(0, window.close))
    if args.profile_startup:
        def report_when_trained():
            if "first step seen in the window" in window.model.startup or window.model.state == SeenState.FAILED:
                print(startup.report(window.model.startup), flush=True)
                window.close()
            else:
                QTimer.singleShot(20, report_when_trained)
        report_when_trained()
    app.exec()
    state = window.model.state
    return 1 if state == SeenState.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
