"""`hinge-train watch` and `steer`: a run, local or on another machine over ssh, from a terminal. watch prints
one line a second (or one JSON object a line); steer delivers one command, checked as the run's inbox checks
it, and says whether the run applied or refused it."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from core.base.errors import UserError
from core.protocol.describe import describe_event
from core.storage.follow import RunFollower
from core.storage.inbox import append_command, parse_command
from core.storage.remote import RemoteFollower, remote_target

def follower_of(args):
    """A RunFollower for a local run directory, a RemoteFollower for [user@]host:RUN_DIR."""
    target = remote_target(args.target)
    if target is None:
        return RunFollower(Path(args.target).expanduser())
    return RemoteFollower(target, args.ssh, args.remote_hinge_train)


class Summary:
    """What watch says of the telemetry seen in the last second."""

    def __init__(self):
        self.step, self.state, self.steps_per_s, self.health, self.alert = 0, "", 0.0, {}, None
        self.means: dict[str, float] = {}

    def add(self, t) -> None:
        self.step, self.state, self.steps_per_s, self.health = t.step, t.state, t.steps_per_s, t.health
        if len(t.steps):
            self.means = {name: float(np.nanmean(values)) for name, values in t.scalars.items()}
        alerts = [e for e in t.events if e.get("kind") == "alert"]
        self.alert = alerts[-1] if alerts else self.alert

    def record(self) -> dict:
        alerting = sorted(name for name, r in self.health.items() if r.get("state") == "alert")
        return {"step": self.step, "state": self.state, "steps_per_s": round(self.steps_per_s, 2), **{
            k: round(v, 4) for k, v in self.means.items()}, "alerts": alerting,
            "newest_alert": self.alert and {k: self.alert[k] for k in ("name", "step", "message") if k in self.alert}}

    def line(self) -> str:
        m = self.means
        losses = (f"d_loss {m['d_loss']:.3f}  g_loss {m['g_loss']:.3f}  inside real {m['real_violation_rate']:.0%} "
                  f"fake {m['fake_violation_rate']:.0%}") if m else "no rows yet"
        alerting = [name for name, r in self.health.items() if r.get("state") == "alert"]
        health = f"ALERT {', '.join(alerting)}" if alerting else ("healthy" if self.health else "")
        newest = f"  newest: {self.alert['name']} at step {self.alert['step']}" if self.alert else ""
        return f"step {self.step:>7}  {self.steps_per_s:5.1f} steps/s  {losses}  {self.state}  {health}{newest}"


def cmd_watch(args) -> int:
    follower = follower_of(args)
    summary, end = Summary(), time.monotonic() + (args.seconds or float("inf"))
    try:
        while True:
            said, next_line = False, time.monotonic() + 1.0
            while time.monotonic() < next_line:
                t = follower.poll()
                if t is not None:
                    summary.add(t)
                    said = True
                time.sleep(0.1)
            status = getattr(follower, "status", "connected")
            if said or status != "connected":
                text = json.dumps(summary.record()) if args.json else summary.line()
                print(text if status == "connected" else f"{text}  ({status})", flush=True)
            if time.monotonic() >= end or (said and follower.finished and not follower.live):
                return 0
    except KeyboardInterrupt:
        return 0
    finally:
        getattr(follower, "close", lambda: None)()


def cmd_steer(args) -> int:
    target = remote_target(args.target)
    try:
        raw = json.loads(args.command_json)
    except ValueError as exc:
        raise UserError(f"the command is not JSON ({exc.msg}): {args.command_json}") from None
    if target is None:
        return _steer_local(Path(args.target).expanduser(), raw, args.timeout)
    follower = RemoteFollower(target, args.ssh, args.remote_hinge_train)
    try:
        ident = follower.send(raw)
        deadline = time.monotonic() + args.timeout
        while ident not in follower.answers and time.monotonic() < deadline:
            follower.poll()
            time.sleep(0.1)
        return _said(follower.answers.get(ident), args.timeout)
    finally:
        follower.close()


def _steer_local(run_dir: Path, raw: dict, timeout: float) -> int:
    follower = RunFollower(run_dir)
    ident = f"steer-{time.time_ns()}"
    parse_command(json.dumps({**raw, "id": ident}), run_dir)  # refused here as the run would refuse it
    follower.poll()  # what is there already
    append_command(run_dir, {**raw, "id": ident})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = follower.poll()
        answer = next((e for e in (t.events if t else ()) if e.get("id") == ident), None)
        if answer is not None:
            return _said(answer, timeout)
        time.sleep(0.1)
    return _said(None, timeout)


def _said(answer: dict | None, waited: float) -> int:
    if answer is None:
        print(f"delivered; no answer within {waited:.0f} s (is the run training? it reads commands.jsonl when it "
              "runs)", file=sys.stderr)
        return 3
    if "refused" in answer:
        print(f"refused: {answer['refused']}", file=sys.stderr)
        return 1
    if answer.get("kind") == "rejected":
        print(f"refused: {answer.get('reason')}", file=sys.stderr)
        return 1
    print(f"applied: {describe_event(answer)}")
    return 0
