"""A slow link in front of any command: `python throttled.py BYTES_PER_S DELAY_S COMMAND...` runs COMMAND and
passes what it writes on to its own standard output at most BYTES_PER_S, each piece DELAY_S late (and its
standard input through as it comes). Put in front of ssh, it is the far end behind a 1 MB/s, 100 ms link."""
import os
import subprocess
import sys
import threading
import time

rate, delay, command = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def inbound() -> None:
    for line in sys.stdin.buffer:
        child.stdin.write(line)
        child.stdin.flush()
    child.stdin.close()


threading.Thread(target=inbound, daemon=True).start()
out = sys.stdout.buffer
while chunk := os.read(child.stdout.fileno(), 16384):
    time.sleep(delay + len(chunk) / rate)  # the piece's transfer time at the rate, after the link's delay
    out.write(chunk)
    out.flush()
sys.exit(child.wait())
