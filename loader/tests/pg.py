"""A throwaway PostgreSQL cluster for the tests: temp dir, loopback port, trust auth.

initdb refuses to run as root, so as root the cluster belongs to the
`postgres` user (runuser). The server is stopped when the test session ends.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL (make setup does, with apt-get)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_cluster():
    """Yield libpq environment variables for a fresh cluster with database `carestar`."""
    base = Path(tempfile.mkdtemp(prefix="carestar-pg-"))
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data, log, port = base / "data", base / "server.log", _free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, text=True, cwd=base)

    run(_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    run(_pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": "postgres", "PGPASSWORD": "", "PGDATABASE": "carestar"}
    try:
        deadline = time.monotonic() + 30
        while True:
            probe = subprocess.run(
                [
                    *prefix,
                    _pg_bin("psql"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-c",
                    "create database carestar",
                ],
                capture_output=True,
                text=True,
                cwd=base,
            )
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {probe.stderr.strip()}")
            time.sleep(0.3)
        yield env
    finally:
        subprocess.run(
            [*prefix, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True, cwd=base
        )
        shutil.rmtree(base, ignore_errors=True)
