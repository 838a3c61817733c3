"""A throw-away PostgreSQL cluster for the tests and the bench (Debian's `postgresql`
package; `.ci/run` installs it and never starts the system service): `initdb` into a temp
dir, the server listening only on a unix socket in that dir, trust auth for the user
`posterm`. One cluster per test session (per xdist worker); each test gets its own
database (`CREATE DATABASE`).

Run as root, initdb and the server run as the user `postgres` (PostgreSQL refuses root)
and the temp dir is theirs. Without CI a missing PostgreSQL skips, with `CI` set it fails.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.support.needs import unavailable

USER = "posterm"


def bindir() -> Path | None:
    """Where initdb, pg_ctl and postgres are: `pg_config --bindir`, else the newest
    /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    found = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(
        (Path(p) for p in found), key=lambda p: _version(p.parent.name), reverse=True
    )
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def missing(why: str) -> None:
    """No PostgreSQL here: a failure under CI, else a skip that says why."""
    unavailable(f"{why}: install Debian's postgresql to run the PostgreSQL tests")


class Cluster:
    """`initdb` + `pg_ctl start` in a fresh temp dir; `url(db)` for psycopg and Store."""

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        self.bin = bin_dir
        self.durable = durable  # fsync on (the bench); the tests run without it
        self.dir = Path(tempfile.mkdtemp(prefix="pgt-"))  # short: a socket path has 107 bytes
        self.data = self.dir / "data"
        self.port = 5432  # only a unix socket in self.dir: no clash with anyone's 5432
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                missing("running as root needs the user postgres to run PostgreSQL")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        self.start()

    def _run(self, *cmd: str) -> None:
        proc = subprocess.run([*self._as, *cmd], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {proc.stdout}{proc.stderr}")

    def start(self) -> None:
        opts = f"-k {self.dir} -c listen_addresses='' -p {self.port}"
        if not self.durable:
            opts += " -F -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: connections are cut, as when it is restarted)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def pid(self) -> int:
        """The postmaster's pid (the benchmarks read its processes' CPU)."""
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{USER}@/{db}?host={self.dir}&port={self.port}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its URL."""
        import psycopg  # noqa: PLC0415 (the posterm[host] extra)

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        if self.running():
            with contextlib.suppress(RuntimeError):  # already gone; the files go below
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster(*, durable: bool = False) -> Cluster:
    """A running cluster, or a skip (a failure under CI) saying why there is none."""
    found = bindir()
    if found is None:
        missing("PostgreSQL is not installed (no pg_config --bindir, no /usr/lib/postgresql/*/bin)")
    assert found is not None
    try:
        import psycopg  # noqa: F401, PLC0415
    except ImportError:
        missing("psycopg 3 is not installed (the posterm[host] extra)")
    return Cluster(found, durable=durable)
