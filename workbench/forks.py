"""The processes this window started that train on their own (forks and sweeps): they outlive the window,
and one that dies while the window is open is said, with the last lines of its log, and reaped. No Qt here."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

LAST_LINES = 6


@dataclass
class Started:
    process: subprocess.Popen
    log: Path
    what: str  # "fork", "sweep"
    where: Path  # its run directory or sweep folder


class Forks:
    def __init__(self):
        self.running: list[Started] = []

    def add(self, process: subprocess.Popen, log: Path, what: str, where: Path) -> None:
        self.running.append(Started(process, Path(log), what, Path(where)))

    def __len__(self) -> int:
        return len(self.running)

    def failed(self) -> list[str]:
        """What each process that ended since the last call with a failure says; every ended one is reaped."""
        messages, still = [], []
        for started in self.running:
            code = started.process.poll()  # reaps it when it has ended
            if code is None:
                still.append(started)
            elif code != 0:
                messages.append(f"The {started.what} in {started.where} stopped (exit code {code}):\n\n"
                                f"{last_lines(started.log)}")
        self.running = still
        return messages


def last_lines(path: Path, n: int = LAST_LINES) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError as exc:
        return f"(its log {path} cannot be read: {exc.strerror or exc})"
    return "\n".join(lines[-n:]) or f"(its log {path} is empty)"
