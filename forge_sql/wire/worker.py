"""The thread a connection's statements run on, one per connection (as PostgreSQL has one
backend process per connection).

A statement blocks while DuckDB works, so it cannot run on the event loop. Handing each job
to a thread of a shared pool (``run_in_executor``) costs a concurrent Future chained to an
asyncio one, a work queue and whichever idle thread wakes; a thread of the connection's own
takes the job from a queue and settles the event loop's future directly, and it stays warm
(same thread, same caches) from one statement to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple["asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class Worker:
    """Runs the jobs of one connection in order, on one thread, until :meth:`stop`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str) -> None:
        self._loop = loop
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``fn(*args)`` on the worker thread, after the jobs submitted before it."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((future, fn, args))
        return future

    def stop(self) -> None:
        """End the thread once the jobs already submitted are done."""
        self._jobs.put(None)

    def _serve(self) -> None:
        settle = self._loop.call_soon_threadsafe
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            try:
                result = fn(*args)
            except BaseException as exc:
                outcome: tuple[Any, BaseException | None] = (None, exc)
            else:
                outcome = (result, None)
            del job, fn, args
            try:
                settle(_settle, future, *outcome)
            except RuntimeError:  # the event loop is closed: nobody waits any more
                return


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        with contextlib.suppress(asyncio.InvalidStateError):
            future.set_exception(error)
    else:
        with contextlib.suppress(asyncio.InvalidStateError):
            future.set_result(result)
