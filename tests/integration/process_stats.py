"""What the kernel says about the server process: CPU time used and resident memory."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of all the process's threads (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def memory_kb(pid: int, field: str = "VmRSS") -> int:
    """A /proc/PID/status memory figure in kB (VmRSS now, VmHWM the peak)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise LookupError(field)


def reset_peak(pid: int) -> None:
    """Start VmHWM again from the process's RSS now (proc(5), /proc/PID/clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def wait_busy(pid: int, cpu: float = 0.3, timeout: float = 20.0) -> bool:
    """Wait until the process has burnt ``cpu`` more seconds: a statement is running."""
    start = cpu_seconds(pid)
    return wait_until(lambda: cpu_seconds(pid) - start >= cpu, timeout)


def wait_idle(pid: int, timeout: float = 20.0, window: float = 0.25) -> bool:
    """Wait until the process uses (almost) no CPU over ``window`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < window * 0.2:
            return True
    return False
