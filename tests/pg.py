"""A real PostgreSQL server on loopback for the store tests: `initdb` and `pg_ctl` in a
temporary folder (as the `postgres` user, or `nobody`, when the tests run as root: the
server refuses root), stopped and removed afterwards. Where the server's programs are
missing, `start` says why, for the tests to skip with."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Postgres", "missing", "start"]


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def missing() -> str | None:
    """Why no server can be started here, or None."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return (
            "PostgreSQL's initdb/pg_ctl are missing (Debian: apt-get install postgresql;"
            " .ci/run installs it as root)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is missing: pip install 'pytest-cloudevents[postgres]'"
    return None


@dataclass
class Postgres:
    """A running server: `url` to connect to it."""

    folder: Path
    port: int
    user: str | None

    @property
    def url(self) -> str:
        return f"postgresql://ce@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        _run(
            self.user,
            [
                _bin("pg_ctl") or "pg_ctl",
                "stop",
                "-D",
                str(self.folder / "data"),
                "-m",
                "fast",
                "-w",
            ],
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(user: str | None, argv: list[str]) -> None:
    command = ["runuser", "-u", user, "--", *argv] if user else argv
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def start() -> Postgres:
    """initdb, then pg_ctl start on a free loopback port; trust authentication, user `ce`."""
    user = None
    if os.geteuid() == 0:
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            user = name
            break
    folder = Path(tempfile.mkdtemp(prefix="ce-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data = folder / "data"
    _run(
        user,
        [_bin("initdb") or "initdb", "-D", str(data), "-U", "ce", "--auth=trust", "-E", "UTF8"],
    )
    port = _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run(
        user,
        [
            _bin("pg_ctl") or "pg_ctl",
            "start",
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(folder / "log"),
        ],
    )
    return Postgres(folder, port, user)
