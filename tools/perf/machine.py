"""The machine a benchmark ran on, and the resident memory of a process tree (Linux /proc).

Numbers without the machine they came from cannot be compared, so the report always says it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

PROC = Path("/proc")


def _cpu_model() -> str:
    try:
        for line in (PROC / "cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        for line in (PROC / "meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return float("nan")


def _python_version(python: Path) -> str:
    try:
        result = subprocess.run(
            [str(python), "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def machine_info(rasa_python: Path) -> dict[str, object]:
    """CPU model, cores, RAM, OS, both Pythons, and the load average when the run started
    (other jobs on the machine skew the numbers; the report says so)."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python_service": platform.python_version(),
        "python_rasa": _python_version(rasa_python),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "service_executable": sys.executable,
    }


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in (PROC / str(pid) / "task").iterdir():
            text = (task / "children").read_text(encoding="utf-8").split()
            kids.extend(int(k) for k in text)
    except OSError:
        pass
    return kids


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB (0 when it is gone)."""
    total_kib = 0
    pending = [pid]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            for line in (PROC / str(current) / "status").read_text(encoding="utf-8").splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
                    break
        except OSError:
            continue
        pending.extend(_children(current))
    return round(total_kib / 1024, 1)


def process_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process has used so far, from /proc/<pid>/stat
    (OSError when it is gone)."""
    fields = (PROC / str(pid) / "stat").read_text(errors="replace").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
