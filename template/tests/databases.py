"""Throwaway MariaDB and PostgreSQL servers on loopback, started by the tests that need a real
server (the load-and-faults test stops and restarts one under load).

Both come from Debian's packages (`apt-get install mariadb-server postgresql`); data lives in a
temp directory, `start()` creates it and runs the server, `stop()` and `run()` stop and start the
same server again with its data.
"""

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not become ready within {timeout} s")


class MariaDB:
    def __init__(self, root: Path):
        self.datadir, self.port = root / "mariadb", free_port()
        self.socket = self.datadir / "mysqld.sock"
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )
        self.run()
        setup = (
            "CREATE DATABASE test; CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-password';"
            "GRANT ALL ON test.* TO 'app'@'127.0.0.1';"
        )
        subprocess.run([*self.client, "-e", setup], check=True, capture_output=True)
        return f"mysql+pymysql://app:app-password@127.0.0.1:{self.port}/test"

    @property
    def client(self) -> list[str]:
        return ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot"]

    def run(self) -> None:
        """Start the server on its existing data directory and wait until it answers."""
        self.process = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                "--user=root",
                f"--datadir={self.datadir}",
                "--bind-address=127.0.0.1",
                f"--port={self.port}",
                f"--socket={self.socket}",
                "--skip-log-bin",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(
            lambda: subprocess.run([*self.client, "-e", "SELECT 1"], capture_output=True).returncode == 0,
            "MariaDB",
        )

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)


class PostgreSQL:
    """initdb refuses to run as root, so the cluster belongs to the `postgres` system user."""

    def __init__(self, root: Path):
        self.datadir, self.port = root / "postgresql", free_port()
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed: run scripts/bootstrap.sh")
        self.bin = Path(bins[-1])

    def _as_postgres(self, *command: str) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr or result.stdout}")
        return result

    def start(self) -> str:
        self.datadir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres", "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.datadir), "-U", "postgres", "-A", "trust")
        self.run()
        self._as_postgres(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", "CREATE DATABASE test"
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/test"

    def run(self) -> None:
        """Start the server on its existing cluster and wait until it accepts connections."""
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "log"),
            "-o",
            f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1",
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "stop")
