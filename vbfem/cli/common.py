"""Helpers shared by the subcommands."""

from __future__ import annotations

import contextlib
import sys
import time

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
