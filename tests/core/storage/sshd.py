"""A real OpenSSH server on 127.0.0.1 for as long as the `with` lasts, with a throwaway host key and user key in
`folder`: yields the ssh command line that reaches it (the host is 127.0.0.1), or None where no sshd is here or
it would not start (with why, in `why`)."""
import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


@contextlib.contextmanager
def local_sshd(folder: Path, why: list | None = None):
    why = [] if why is None else why
    server = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if server is None or shutil.which("ssh") is None:
        why.append("no OpenSSH server here (apt-get install openssh-server)")
        yield None
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True)
    shutil.copy(folder / "user.pub", folder / "authorized_keys")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\n"
        f"PidFile {folder / 'pid'}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nPermitRootLogin prohibit-password\nPermitUserEnvironment no\n")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)
    process = subprocess.Popen([server, "-D", "-e", "-f", str(folder / "sshd_config")], stderr=subprocess.PIPE)
    ssh = (f"ssh -p {port} -i {folder / 'user'} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
           "-o LogLevel=ERROR")
    try:
        deadline = time.monotonic() + 10
        while subprocess.run([*ssh.split(), "-o", "BatchMode=yes", "127.0.0.1", "true"], capture_output=True,
                             timeout=10).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                said = process.stderr.read().decode()[-300:] if process.poll() is not None else "no login"
                why.append(f"sshd would not start here: {said}")
                yield None
                return
            time.sleep(0.2)
        yield ssh
    finally:
        process.terminate()
        process.wait(10)
