#!/usr/bin/env python3
"""`make test`: the whole suite on SQLite, then every database test again on PostgreSQL.

PostgreSQL comes from DATABASE_URL if set; else a server on 127.0.0.1:5432 if one answers; else a throwaway
cluster started with pg_ctl if the binaries exist; else the PostgreSQL pass is skipped with the reason
printed (and, with CI_STRICT=1, the run fails: nothing may be skipped in CI).

Each pass runs in pytest-xdist workers, one per CPU (see workers()).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRICT = os.environ.get("CI_STRICT") == "1"
NO_TESTS = 5  # pytest's exit code when nothing was collected


def log(message: str) -> None:
    print(f"[make test] {message}", flush=True)


def _server_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _pg_binaries() -> Path | None:
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="contactpoint-pg-"))
        self.port = _free_port()

    def start(self) -> str:
        data = self.dir / "data"
        user = "postgres"
        run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres account if there is one
            if shutil.which("runuser") and subprocess.run(["id", "postgres"], capture_output=True).returncode == 0:
                run_as = ["runuser", "-u", "postgres", "--"]
                shutil.chown(self.dir, "postgres")
            else:
                raise RuntimeError("running as root without a 'postgres' account to run initdb")
        subprocess.run([*run_as, str(self.bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        subprocess.run([*run_as, str(self.bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(self.dir / "log"),
                        "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                        "start"], check=True, capture_output=True)
        self.run_as = run_as
        return f"postgres://{user}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast",
                        "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def find_postgres() -> tuple[str | None, str, ThrowawayCluster | None]:
    """(url or None, how it was found or why not, cluster to stop afterwards)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url, "DATABASE_URL", None
    if _server_answers("127.0.0.1", 5432):
        user = os.environ.get("PGUSER", "postgres")
        return f"postgres://{user}@127.0.0.1:5432/{os.environ.get('PGDATABASE', 'postgres')}", \
            "the server on 127.0.0.1:5432", None
    bindir = _pg_binaries()
    if bindir is None:
        return None, "no DATABASE_URL, nothing answers on 127.0.0.1:5432 and no pg_ctl binaries were found", None
    cluster = ThrowawayCluster(bindir)
    try:
        return cluster.start(), f"a throwaway cluster from {bindir}", cluster
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        cluster.stop()
        return None, f"could not start a throwaway cluster with {bindir}: {exc}", None


# Tests are handed out one at a time, in the order tests/conftest.py sets (an xdist_group, if any, together);
# without --no-loadscope-reorder xdist would hand out the largest groups first, ahead of that order.
XDIST = ["--dist", "loadgroup", "--no-loadscope-reorder"]


def workers() -> list[str]:
    """pytest-xdist's options: one worker per CPU this process may use (CONTACTPOINT_TEST_WORKERS overrides;
    0 or 1 runs every test in one process). Each worker has its own test database and var directory
    (tests/conftest.py); tests that must not run side by side share an xdist_group, which --dist loadgroup
    gives to one worker. Options given to this script come after these, so `-n 0` on its command line wins."""
    wanted = os.environ.get("CONTACTPOINT_TEST_WORKERS", "").strip()
    if wanted and not wanted.isdigit():
        return ["-n", wanted, *XDIST]  # "auto", "logical": xdist counts
    if wanted:
        count = int(wanted)
    else:
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return ["-n", str(count), *XDIST] if count > 1 else []


def pytest(env: dict[str, str], extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "pytest", *workers(), *extra, *sys.argv[1:]]
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    return 0 if code == NO_TESTS else code


def main() -> int:
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    var = ROOT / "build" / "test-var"
    shutil.rmtree(var, ignore_errors=True)
    base["CONTACTPOINT_VAR_DIR"] = str(var)
    pg_url, how, cluster = find_postgres()
    try:
        log(f"pass 1 of 2: the whole suite on SQLite ({' '.join(workers()[:2]) or 'one process'})")
        sqlite_env = {**base, "CONTACTPOINT_TEST_PASS": "sqlite"}
        if pg_url is None:
            sqlite_env["CONTACTPOINT_NO_POSTGRES_REASON"] = how
        first = pytest(sqlite_env, [])
        if pg_url is None:
            log(f"PostgreSQL pass SKIPPED: {how}")
            if STRICT:
                log("CI_STRICT=1: PostgreSQL is required in CI")
                return 1
            return first
        log(f"pass 2 of 2: database tests on PostgreSQL ({how})")
        second = pytest({**base, "DATABASE_URL": pg_url, "CONTACTPOINT_TEST_PASS": "postgres"}, [])
        return first or second
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
