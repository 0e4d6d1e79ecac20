"""Keeps one LibreOffice running for one worker process, so that a conversion does not pay
LibreOffice's start (`conversion.py` runs this file as a script; it imports nothing of ours).

It starts LibreOffice headless in a process group of its own with the worker's profile folder,
prints "ready" once LibreOffice takes requests, and ends it, with its pipes and profile, when
the worker closes this script's standard input: on purpose, or by exiting or dying. It ends
as well when LibreOffice does, so the worker sees a dead LibreOffice as this process gone.

    python keeper.py SOFFICE PROFILE_DIR PIPE_NAME
"""

import contextlib
import hashlib
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path


def pipe_path(name):
    """Where LibreOffice's runtime (sal, osl/unx/pipe.cxx) puts the socket of a named pipe."""
    folder = "/tmp" if os.access("/tmp", os.W_OK) else "/var/tmp"
    return Path(folder) / f"OSL_PIPE_{os.getuid()}_{name}"


def instance_pipe_name(profile_url):
    """The pipe by which a second `soffice` with this profile hands its work to the first:
    an MD5 of the profile's URL (UTF-16), each byte in hex without padding."""
    digest = hashlib.md5(profile_url.encode("utf-16-le")).digest()  # noqa: S324 (LibreOffice's)
    return "SingleOfficeIPC_" + "".join(format(byte, "x") for byte in digest)


def _end(office):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(office.pid, signal.SIGTERM)
    try:
        office.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(office.pid, signal.SIGKILL)
        office.wait()


def _leave(signum, frame):
    sys.exit(0)  # through main's `finally`: LibreOffice is ended with this process


def main(binary, profile, pipe_name):
    signal.signal(signal.SIGTERM, _leave)
    signal.signal(signal.SIGHUP, _leave)
    profile_url = Path(profile).as_uri()
    office = subprocess.Popen(
        [
            binary,
            f"-env:UserInstallation={profile_url}",
            "--headless",
            "--norestore",
            "--nologo",
            f"--accept=pipe,name={pipe_name};urp;",
            # An open (hidden) document: without one LibreOffice quits after a conversion.
            "private:factory/swriter",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    accepting = pipe_path(pipe_name)
    ready = False
    try:
        while office.poll() is None:
            if not ready and accepting.exists():
                # LibreOffice opens its acceptor once its start is over.
                print("ready", flush=True)
                ready = True
            readable, _, _ = select.select([sys.stdin], [], [], 0.25 if ready else 0.05)
            if readable and not os.read(sys.stdin.fileno(), 64):
                break
    finally:
        _end(office)
        for pipe in (accepting, pipe_path(instance_pipe_name(profile_url))):
            with contextlib.suppress(OSError):
                pipe.unlink()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
