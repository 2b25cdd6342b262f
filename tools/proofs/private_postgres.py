"""A private PostgreSQL server for a proof that restarts it: the machine's shared server carries
other people's tests, so it is never restarted.

Debian's binaries (/usr/lib/postgresql/<version>/bin: initdb, pg_ctl) make a cluster in a
temporary directory owned by the `postgres` system user (initdb refuses to run as root), trust
authentication on 127.0.0.1 and a free port, the socket in the same directory. It is removed
on exit.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.ops.supervisor import free_port

POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
HOW_TO = (
    "需要 PostgreSQL 的服务器程序（initdb、pg_ctl，Debian: apt-get install postgresql，"
    "位于 /usr/lib/postgresql/<版本>/bin），以及系统用户 postgres；以 root 运行时用 runuser 切换。"
)


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL bin directory with initdb and pg_ctl, or None."""
    found = sorted(
        (p for p in Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/")) if (p / "pg_ctl").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def available() -> bool:
    """The binaries, the postgres user, and a way to act as that user (root's runuser or being
    postgres already)."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    as_postgres = os.geteuid() == 0 and shutil.which("runuser") is not None
    return postgres_bin() is not None and (as_postgres or _is_postgres())


def _is_postgres() -> bool:
    return pwd.getpwuid(os.geteuid()).pw_name == "postgres"


@dataclass
class PrivatePostgres:
    bin_dir: Path
    data_dir: Path
    port: int

    @property
    def server_url(self) -> str:
        """postgresql://postgres@127.0.0.1:<port> (append /dbname)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir / "data"), *args]
        command += ["-l", str(self.data_dir / "server.log")] if args[0] != "stop" else []
        _as_postgres(command, timeout)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        self._ctl("start", "-w", "-o", options)

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every open connection is cut, as in a real restart."""
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        self._ctl("restart", "-m", "fast", "-w", "-o", options)

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate", "-w")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.data_dir / "server.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _as_postgres(command: list[str], timeout: float) -> None:
    if not _is_postgres():
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(
        command, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh cluster on a free port, started; stopped and removed on exit."""
    bin_dir = postgres_bin()
    if bin_dir is None or not available():
        raise RuntimeError(HOW_TO)
    work = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    account = pwd.getpwnam("postgres")
    os.chown(work, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(bin_dir, work, free_port())
    started = False
    try:
        _as_postgres(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(work / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            timeout=120,
        )
        server.start()
        started = True
        yield server
    finally:
        if started:
            try:
                server.stop()
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(work, ignore_errors=True)
