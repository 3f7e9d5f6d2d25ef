"""An `ssh` that stays on this machine: it takes ssh's options, host and remote command line as ssh does and runs
the command here with sh, as sshd would. The remote channel's fast tests run over it (the slow ones over a real
sshd on 127.0.0.1). --refuse HOST makes it fail as ssh does for an unknown host."""
import os
import sys

args, refuse = sys.argv[1:], None
if args[:1] == ["--refuse"]:
    refuse, args = args[1], args[2:]
while args and args[0].startswith("-") and args[0] != "--":
    args = args[2:] if args[0] in ("-o", "-p", "-i", "-F", "-J") else args[1:]
host, command = args[0], args[args.index("--") + 1:]
if host == refuse:
    sys.stderr.write(f"ssh: Could not resolve hostname {host}: Name or service not known\n")
    sys.exit(255)
os.execvp("sh", ["sh", "-c", " ".join(command)])
