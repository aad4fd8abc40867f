"""The executors that report each strength curve as it finishes (issue 23)."""

import threading
from concurrent.futures import CancelledError, ThreadPoolExecutor

import pytest

from vbfem.study.curve_progress import reporting_executor


def test_deferred_curves_run_in_order_when_asked_and_report_by_state():
    ran, done = [], []
    ex = reporting_executor(None, ["intact", "fractured", "VP"], done.append)
    futs = [ex.submit(lambda x: ran.append(x) or x * 10, x) for x in (1, 2, 3)]
    assert ran == [] and done == []  # nothing runs at submit: after the linear solves, as the serial path
    assert [f.result() for f in futs] == [10, 20, 30] and futs[0].result() == 10  # asked twice: computed once
    assert ran == [1, 2, 3] and done == ["intact", "fractured", "VP"]
    with pytest.raises(RuntimeError, match=r"more strength curves submitted \(4\) than states \(3\)"):
        ex.submit(print)


def test_a_failed_or_cancelled_curve():
    done = []
    ex = reporting_executor(None, ["a", "b"], done.append)
    bad = ex.submit(lambda: 1 / 0)
    dropped = ex.submit(lambda: 1)
    with pytest.raises(ZeroDivisionError):
        bad.result()
    assert dropped.cancel() and done == ["a"]  # a failed curve is finished; a cancelled one is not reported
    with pytest.raises(CancelledError):
        dropped.result()


def test_pool_curves_report_as_they_finish():
    done, release = [], threading.Event()
    with ThreadPoolExecutor(2) as pool:
        ex = reporting_executor(pool, ["slow", "fast"], done.append)
        slow = ex.submit(release.wait, 10)
        fast = ex.submit(lambda: "fast")
        assert fast.result() == "fast"
        for _ in range(100):
            if done:
                break
            threading.Event().wait(0.01)
        assert done == ["fast"]  # reported when it finished, before the slower first state
        release.set()
        slow.result()
    assert done == ["fast", "slow"]
