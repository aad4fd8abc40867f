"""Helpers shared by the subcommands."""

from __future__ import annotations

import contextlib
import sys
import time


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def add_workers_arg(parser):
    """``--workers N``: processes for the states' strength curves (default: the available cores)."""
    cores = available_cores()
    parser.add_argument("--workers", type=int, default=cores, metavar="N",
                        help="processes for the states' nonlinear strength curves (default: the cores, %(default)s)")


def add_memory_arg(parser):
    """``--max-memory GIB``: the memory a study may take (sets ``VBFEM_MAX_MEMORY`` for this run)."""
    parser.add_argument("--max-memory", type=float, metavar="GIB",
                        help="GiB a study may take: a mesh estimated to need more is refused before it is built "
                             "(default: 75 %% of the physical memory)")


def apply_memory_arg(args):
    """Put ``--max-memory`` (if given) into the environment, where every stage and worker process reads it."""
    import math
    import os

    from ..anatomy.mesher import MEMORY_ENV

    value = getattr(args, "max_memory", None)
    if value is None:
        return
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"--max-memory {value!r}: must be a number of GiB > 0")
    os.environ[MEMORY_ENV] = repr(value)


def check_workers(args):
    if args.workers < 1:
        raise ValueError(f"--workers {args.workers}: must be an integer >= 1")


#: Seconds of work before a progress bar appears.
DELAY = 1.0


@contextlib.contextmanager
def progress_bar(unit: str, *, quiet: bool = False, total: int | None = None):
    """A tqdm progress bar on stderr; yields ``update(done, total, label=None)``.

    Disabled with ``--quiet``; the library reports progress through a plain
    callback and never prints itself.
    """
    from tqdm import tqdm

    # delay: only work that takes more than a second shows a bar
    bar = tqdm(total=total, unit=unit, disable=quiet, file=sys.stderr, leave=False, dynamic_ncols=True, delay=DELAY)

    def update(done, total=None, label=None):
        if total is not None and bar.total != total:
            bar.total = total
        bar.n = done
        if label:
            bar.set_description_str(str(label), refresh=False)
        if not bar.disable and time.time() - bar.start_t >= DELAY:  # as tqdm's delay: no bar under a second
            bar.refresh()

    try:
        yield update
    finally:
        bar.close()
