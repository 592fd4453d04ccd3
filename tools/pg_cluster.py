"""A throwaway PostgreSQL + PostGIS cluster on localhost, for the tests and the benchmark.

``initdb`` into a temporary folder, ``pg_ctl start`` on a free port with the socket in that
folder, a password-protected role and database with the ``postgis`` extension, then ``pg_ctl
stop`` and the folder removed. PostgreSQL refuses to run as root, so as root every server command
runs as the unprivileged ``postgres`` user (created by Debian's ``postgresql`` package) through
``runuser``; as any other user it runs as that user.

Usage from Python::

    with pg_cluster() as cluster:
        url = cluster.url          # postgresql://geo:…@127.0.0.1:PORT/geo

and from a shell, for trying the PostGIS store by hand::

    python tools/pg_cluster.py start --state /tmp/geo-pg.json   # prints the store URL
    python tools/pg_cluster.py stop --state /tmp/geo-pg.json

Nothing here is skipped quietly: a missing server or PostGIS is a :class:`ClusterError` that
says which Debian packages to install (``bash tools/setup_tests.sh`` installs them).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = ["Cluster", "ClusterError", "pg_bin_dir", "pg_cluster", "start_cluster", "stop_cluster"]

PACKAGES = "postgresql postgresql-15-postgis-3"
_DB = "geo"
_ROLE = "geo"


class ClusterError(RuntimeError):
    """The throwaway cluster could not be made (server or PostGIS missing, start failed)."""


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster.

    Attributes
    ----------
    folder : str
        Holds the data directory, the socket, the log and the passwords.
    port : int
    url : str
        ``postgresql://geo:PASSWORD@127.0.0.1:PORT/geo`` — a non-superuser owning the database.
    admin_url : str
        The ``postgres`` superuser over TCP, same password scheme.
    """

    folder: str
    port: int
    url: str
    admin_url: str
    run_as: str | None

    @property
    def data_dir(self) -> str:
        return os.path.join(self.folder, "data")


def pg_bin_dir() -> Path:
    """Folder of ``initdb``/``pg_ctl``: ``$PG_BIN``, Debian's newest, or ``PATH``.

    Raises
    ------
    ClusterError
        No PostgreSQL server programs are installed.
    """
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    if which:
        return Path(which).parent
    raise ClusterError(
        f"PostgreSQL server programs (initdb, pg_ctl) are not installed: apt-get install {PACKAGES}"
        " (or run bash tools/setup_tests.sh as root)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """``postgres`` when running as root (the server refuses root), else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError(
            f"running as root but there is no 'postgres' user to run the server: "
            f"apt-get install {PACKAGES}"
        ) from None
    return "postgres"


def _run(cmd: list[str], run_as: str | None, *, timeout: float = 120) -> str:
    if run_as:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ClusterError(f"{Path(cmd[-1] if run_as else cmd[0]).name}: {' | '.join(detail)}")
    return proc.stdout


def _make_folder(run_as: str | None, parent: str | None) -> str:
    folder = tempfile.mkdtemp(prefix="geo-pg-", dir=parent)
    os.chmod(folder, 0o700)
    if run_as:
        info = pwd.getpwnam(run_as)
        os.chown(folder, info.pw_uid, info.pw_gid)
    return folder


def _write_private(path: str, text: str, run_as: str | None) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)
    if run_as:
        info = pwd.getpwnam(run_as)
        os.chown(path, info.pw_uid, info.pw_gid)


def _initdb(bindir: Path, folder: str, admin_password: str, run_as: str | None) -> None:
    pwfile = os.path.join(folder, "pwfile")
    _write_private(pwfile, admin_password + "\n", run_as)
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            os.path.join(folder, "data"),
            "-U",
            "postgres",
            "--pwfile",
            pwfile,
            "--auth-local=trust",  # the socket is in a 0700 folder: only the server's user
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        run_as,
    )
    os.unlink(pwfile)


def _pg_ctl_start(bindir: Path, folder: str, port: int, run_as: str | None, fast: bool) -> None:
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if fast:  # a throwaway test cluster: durability buys nothing
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            os.path.join(folder, "data"),
            "-o",
            options,
            "-l",
            os.path.join(folder, "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        run_as,
    )


def _psql(bindir: Path, folder: str, port: int, db: str, sql: str, run_as: str | None) -> str:
    return _run(
        [
            str(bindir / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            folder,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            db,
            "-c",
            sql,
        ],
        run_as,
    )


def _create_database(bindir: Path, cluster: Cluster, password: str) -> None:
    run = cluster.run_as
    _psql(
        bindir,
        cluster.folder,
        cluster.port,
        "postgres",
        f"CREATE ROLE {_ROLE} LOGIN PASSWORD '{password}'",
        run,
    )
    _psql(
        bindir,
        cluster.folder,
        cluster.port,
        "postgres",
        f"CREATE DATABASE {_DB} OWNER {_ROLE}",
        run,
    )
    try:
        _psql(bindir, cluster.folder, cluster.port, _DB, "CREATE EXTENSION postgis", run)
    except ClusterError as err:
        raise ClusterError(
            f"PostGIS is not installed ({err}): apt-get install {PACKAGES}"
        ) from None


def start_cluster(*, parent: str | None = None, fast: bool = True) -> Cluster:
    """Start a throwaway cluster and return it (stop it with :func:`stop_cluster`).

    Parameters
    ----------
    parent : str, optional
        Where the cluster's folder is made (default: the system temp folder).
    fast : bool
        ``fsync=off`` and friends: right for tests, wrong for timing a real deployment.

    Raises
    ------
    ClusterError
        Server programs or PostGIS missing, or the server did not start.
    """
    bindir = pg_bin_dir()
    run_as = _server_user()
    folder = _make_folder(run_as, parent)
    admin_pw, user_pw = secrets.token_hex(12), secrets.token_hex(12)
    port = _free_port()
    cluster = Cluster(
        folder=folder,
        port=port,
        url=f"postgresql://{_ROLE}:{quote(user_pw)}@127.0.0.1:{port}/{_DB}",
        admin_url=f"postgresql://postgres:{quote(admin_pw)}@127.0.0.1:{port}/{_DB}",
        run_as=run_as,
    )
    try:
        _initdb(bindir, folder, admin_pw, run_as)
        _pg_ctl_start(bindir, folder, port, run_as, fast)
        _create_database(bindir, cluster, user_pw)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    """Stop the server (fast shutdown) and remove its folder."""
    data = cluster.data_dir
    if os.path.exists(os.path.join(data, "postmaster.pid")):
        with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
            _run(
                [str(pg_bin_dir() / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"],
                cluster.run_as,
            )
    shutil.rmtree(cluster.folder, ignore_errors=True)


@contextlib.contextmanager
def pg_cluster(*, parent: str | None = None, fast: bool = True) -> Iterator[Cluster]:
    """:func:`start_cluster` … :func:`stop_cluster` as a context manager."""
    cluster = start_cluster(parent=parent, fast=fast)
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


def _wait_gone(data: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while os.path.exists(os.path.join(data, "postmaster.pid")) and time.monotonic() < deadline:
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="A throwaway PostGIS cluster on localhost.")
    ap.add_argument("action", choices=("start", "stop"))
    ap.add_argument("--state", required=True, help="JSON file that remembers the running cluster")
    args = ap.parse_args(argv)
    state = Path(args.state)
    if args.action == "start":
        cluster = start_cluster(fast=False)
        state.write_text(json.dumps(asdict(cluster)), encoding="utf-8")
        state.chmod(0o600)
        print(cluster.url)
        return 0
    if not state.exists():
        print(f"no cluster recorded in {state}", file=sys.stderr)
        return 2
    cluster = Cluster(**json.loads(state.read_text(encoding="utf-8")))
    stop_cluster(cluster)
    _wait_gone(cluster.data_dir)
    state.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
