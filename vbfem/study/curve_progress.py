"""Executors that report each strength curve as it finishes, for the study's progress callback.

:func:`vbfem.mechanics.failure.start_compression_curves` takes an ``executor`` and submits one curve per
state to it, in the order of the states. :func:`reporting_executor` wraps a process pool (or, for one
worker, runs each curve here when its result is asked for, as the serial path does) and calls
``on_done(name)`` when the curve of state ``name`` is finished, so the mechanics stage, the longest of a
study, shows its progress instead of one step at its end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future


class _DeferredFuture(Future):
    """A future computed in this process when its result is first asked for (the serial strength curves:
    in the order :meth:`CurveJobs.result` asks, after the linear solves, as without an executor)."""

    def __init__(self, fn, args, kwargs):
        super().__init__()
        self._call = (fn, args, kwargs)

    def result(self, timeout=None):
        if not self.done() and self.set_running_or_notify_cancel():  # pending: compute it now
            fn, args, kwargs = self._call
            try:
                value = fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - handed to the caller, as a pool's future does
                self.set_exception(exc)
            else:
                self.set_result(value)
        return super().result(timeout)


class _ReportingExecutor:
    """``submit`` of a pool (or deferred here without one) that calls ``on_done(name)`` when the i-th
    submitted job finishes, ``name`` the i-th of ``names``."""

    def __init__(self, pool, names: Sequence[str], on_done: Callable[[str], None]):
        self._pool, self._names, self._on_done, self._n = pool, list(names), on_done, 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if self._n >= len(self._names):
            raise RuntimeError(f"more strength curves submitted ({self._n + 1}) than states ({len(self._names)})")
        name = self._names[self._n]
        self._n += 1
        fut = _DeferredFuture(fn, args, kwargs) if self._pool is None else self._pool.submit(fn, *args, **kwargs)
        fut.add_done_callback(lambda f: f.cancelled() or self._on_done(name))
        return fut


def reporting_executor(pool, names: Sequence[str], on_done: Callable[[str], None]) -> _ReportingExecutor:
    """An ``executor`` for :func:`~vbfem.mechanics.failure.start_compression_curves` that calls
    ``on_done(name)`` as the curve of each state finishes.

    Parameters
    ----------
    pool : concurrent.futures.Executor or None
        The worker processes (:func:`vbfem.mechanics.failure.strength_pool`); None computes each curve in
        this process when its result is asked for.
    names : sequence of str
        The states, in the order their curves are submitted (the order of the states).
    on_done : callable
        ``on_done(name)``; with a pool it is called from the pool's result thread, not the main thread.
        Not called for a curve that was cancelled.
    """
    return _ReportingExecutor(pool, names, on_done)
