"""The training process: fits run in a Python process of their own (started with
scikit-learn already imported, and kept for the next training), so that a cancel or
statement_timeout kills the fit itself instead of leaving it to burn CPU in the server.

The server side hands it a job directory (extensions/ml/fitting.py) on stdin and waits
for its answer on stdout, checking for cancel ten times a second. The process ends with
the server (its stdin closes) or when its parent is gone.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from forge_sql.ext import Context, ExtensionError

_HERE = Path(__file__).resolve().parent
_PACKAGE = "forge_ml_worker"
_READY = "ready"
_DONE = "done"
# The process imports these at start, while the server reads the training data.
_PRELOAD = ("numpy", "pandas", "pyarrow", "joblib", "sklearn.ensemble", "sklearn.linear_model",
            "sklearn.cluster", "sklearn.pipeline", "sklearn.compose", "sklearn.preprocessing",
            "sklearn.impute", "sklearn.model_selection", "sklearn.metrics",
            "sklearn.inspection")
_IDLE_KEPT = 1  # processes kept for the next training

_BOOTSTRAP = f"""
import importlib, sys, types
package = types.ModuleType({_PACKAGE!r})
package.__path__ = [sys.argv[1]]
sys.modules[{_PACKAGE!r}] = package
importlib.import_module({_PACKAGE!r} + ".worker").serve()
"""


class Worker:
    """One training process."""

    def __init__(self) -> None:
        import forge_sql

        root = str(Path(forge_sql.__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, str(_HERE)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True,
            env={**os.environ, "PYTHONPATH": path}, start_new_session=True,
        )
        self.ready = False

    def run(self, directory: Path, ctx: Context,
            progress: Callable[[float, float, str], None]) -> None:
        """Run the job in ``directory``; 57014 (the process killed) on cancel."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        started = time.monotonic()
        try:
            if not self.ready:
                self._expect(stdout, _READY, ctx, progress, started)
                self.ready = True
            stdin.write(f"{directory}\n")
            stdin.flush()
            self._expect(stdout, _DONE, ctx, progress, started)
        except BaseException:
            self.kill()
            raise

    def _expect(self, stdout: object, word: str, ctx: Context,
                progress: Callable[[float, float, str], None], started: float) -> None:
        while True:
            ready, _, _ = select.select([stdout], [], [], 0.1)
            if ready:
                line = stdout.readline()  # type: ignore[attr-defined]
                if line.strip() == word:
                    return
                if not line:
                    code = self.process.wait()
                    raise ExtensionError(
                        f"the training process ended unexpectedly (exit status {code})",
                        "58000",
                        hint="a negative status is the signal that ended it (9: out of "
                             "memory or killed)",
                    )
            ctx.check_cancel()
            progress(round(time.monotonic() - started), 0, "fitting, seconds")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.process.wait(5)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            assert self.process.stdin is not None
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
            return
        self.kill()


_idle: list[Worker] = []
_lock = threading.Lock()


def take() -> Worker:
    """An idle training process, or a new one (started now: it imports scikit-learn while
    the caller reads its data)."""
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive():
                return worker
    return Worker()


def give_back(worker: Worker) -> None:
    """Keep a process that finished a job for the next one (up to _IDLE_KEPT)."""
    if not worker.alive():
        return
    with _lock:
        if len(_idle) < _IDLE_KEPT:
            _idle.append(worker)
            return
    worker.close()


# -- the process's own side ------------------------------------------------------------
def serve() -> None:
    """Import the libraries, say ready, then run each job directory read from stdin."""
    import importlib

    for module in _PRELOAD:
        importlib.import_module(module)
    from . import fitting

    parent = os.getppid()

    def orphaned() -> None:  # the server died without closing our stdin
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    print(_READY, flush=True)
    for line in sys.stdin:
        fitting.run(Path(line.strip()))
        print(_DONE, flush=True)
