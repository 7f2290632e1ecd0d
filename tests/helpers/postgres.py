"""A throw-away PostgreSQL cluster for the tests: initdb in a temp dir, `postgres` on a free 127.0.0.1 port.

The record manager's shared mode needs a real server, and one must not depend on a
machine's own cluster: each cluster here is new, reachable only on loopback, run by an
unprivileged user (PostgreSQL refuses to run as root), and removed afterwards.
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.chroma_server import die_with_parent, free_port

PROGRAMS = ("initdb", "postgres")
DATABASE = "communique"
ROLE = "communique"


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs, a driver or an unprivileged user to run them is not there."""


def postgres_bindir() -> Path:
    """The folder holding initdb and postgres: the ones on PATH, else Debian's newest (PostgresMissing if none)."""
    candidates: list[Path] = []
    if found := shutil.which("initdb"):
        candidates.append(Path(found).resolve().parent)   # /usr/local/bin/initdb may link into Debian's folder
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False).stdout.strip()
            if out:
                candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in debian), key=lambda p: _version(p.parent.name), reverse=True)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in PROGRAMS):
            return folder
    raise PostgresMissing("PostgreSQL's server programs (initdb, postgres) are not installed: "
                          "run `./setup.sh --services` (Debian's postgresql package)")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text)) or (0,)


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresMissing("running as root and there is no unprivileged user (postgres, nobody) to run PostgreSQL as")


@dataclass
class PostgresCluster:
    """A new cluster with one database owned by one login role; `url` is its SQLAlchemy URL."""

    root: Path
    port: int
    password: str
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def log(self) -> Path:
        return self.root / "server.log"


def require_postgres() -> None:
    """PostgresMissing, saying what to install, unless a cluster can be started here."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresMissing("the psycopg driver is not installed: `pip install -e '.[dev]'`") from None
    postgres_bindir()
    _run_as()


@contextmanager
def postgres_cluster(timeout: float = 60.0) -> Iterator[PostgresCluster]:
    """Start a cluster, create the `communique` role and database, yield it; stop it and delete its files."""
    require_postgres()
    import psycopg

    bindir = postgres_bindir()
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="communique-pg-"))   # under /tmp: the server's user must reach it
    as_user: dict = {}
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root), "LC_ALL": "C", "TZ": "UTC"}
    password = secrets.token_hex(12)
    process: subprocess.Popen | None = None
    try:
        (root / "pwfile").write_text(password + "\n", encoding="utf-8")
        if user is not None:
            os.chown(root / "pwfile", user.pw_uid, user.pw_gid)
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--pwfile", str(root / "pwfile"),
             "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False, **as_user)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed ({init.returncode}): {init.stderr.strip()[-2000:]}")
        port = free_port()
        with open(root / "server.log", "ab") as log:
            # `postgres` itself, not `pg_ctl start`: it stays our child, and dies with this process (die_with_parent)
            process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(root / "data"), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                 "-c", f"unix_socket_directories={root}", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=50"],
                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=die_with_parent, **as_user)
        cluster = PostgresCluster(root, port, password, process)
        _wait_ready(cluster, psycopg, timeout)
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=password, dbname="postgres",
                             autocommit=True, connect_timeout=10) as admin:
            admin.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}'")
            admin.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        yield cluster
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(cluster: PostgresCluster, psycopg: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if cluster.process.poll() is not None:
            raise RuntimeError(f"postgres exited with status {cluster.process.returncode}:\n{_tail(cluster.log)}")
        try:
            psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", password=cluster.password,  # type: ignore[attr-defined]
                            dbname="postgres", connect_timeout=2).close()
            return
        except psycopg.OperationalError:  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not accept connections within {timeout:g} s:\n{_tail(cluster.log)}") from None
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    """Fast shutdown (SIGINT), then SIGQUIT, then SIGKILL of the whole group."""
    for sig, wait in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            break
        try:
            if sig == signal.SIGKILL:
                os.killpg(process.pid, sig)
            else:
                os.kill(process.pid, sig)   # the postmaster shuts its backends down itself
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    try:   # the backends notice the postmaster's death themselves; make sure none is left
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
