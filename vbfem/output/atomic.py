"""Atomic file writes: a file either appears complete or not at all.

Every writer of the package (VTU, FEBio, Abaqus, PNG, HTML, CSV, Parquet)
writes to a temporary sibling and renames it over the target, so a crash or a
failed write never leaves a half-written file that a later run (or a resumed
sweep) would take for a finished one.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it onto ``path`` when the block succeeds.

    The temporary name keeps the suffix (``.x.tmp-1a2b3c4d.png``), so writers
    that choose the format from the extension still do. On an exception the
    temporary file is removed and the target is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def staged_folder(folder) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``folder``; move its files into ``folder`` when the block succeeds.

    A group of outputs (a study's table, VTUs, pictures, report) then lands
    together or not at all: on an exception the temporary folder is removed
    and ``folder`` is left as it was (not even created). Files already in
    ``folder`` with other names are kept; files and folders of the same name are replaced.
    """
    folder = Path(folder).resolve()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"output folder {str(folder)!r} exists and is not a folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = folder.with_name(f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
    stage.mkdir()
    try:
        yield stage
        folder.mkdir(exist_ok=True)
        for entry in sorted(stage.iterdir()):
            target = folder / entry.name
            if entry.is_dir() and target.is_dir():  # a folder of outputs replaces its older self
                shutil.rmtree(target)
            os.replace(entry, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def check_writable_folder(folder) -> Path:
    """``folder`` resolved, once it is known that it can be an output folder; else an OSError naming it.

    The folder must not be a file system root or an existing file, and a file can be created in it
    (or, while it does not exist, in its nearest existing parent): a temporary file is created and
    removed there, so a run fails before it computes rather than when it writes.
    """
    path = Path(folder).resolve()
    if path.parent == path:
        raise IsADirectoryError(f"output folder {str(folder)!r} is the file system root; give a folder of its own "
                                "(e.g. --out results/)")
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"output folder {str(path)!r} exists and is not a folder")
    parent = next(p for p in (path, *path.parents) if p.exists())
    if not parent.is_dir():
        raise NotADirectoryError(f"output folder {str(path)!r}: {str(parent)!r} is not a folder")
    probe = parent / f".vbfem-write-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        probe.touch(exist_ok=False)
    except OSError as exc:
        raise PermissionError(f"output folder {str(path)!r}: cannot write into {str(parent)!r} "
                              f"({exc.strerror or exc})") from None
    probe.unlink()
    return path


#: Name of the lock file that :func:`folder_lock` keeps in an output folder.
LOCK_NAME = ".vbfem.lock"


class FolderLockedError(FileExistsError):
    """An output folder is held by another live process (see :func:`folder_lock`)."""


@contextlib.contextmanager
def folder_lock(folder) -> Iterator[Path]:
    """Hold ``folder`` (created if needed) for this process while the block writes into it.

    The lock is the file :data:`LOCK_NAME` in the folder, holding the process id; it appears with its
    content in one step (written to a temporary file, then hard-linked), so no process ever reads a
    half-written one. A lock of a live process raises :class:`FolderLockedError` naming the folder and
    that process; a lock of a process that no longer runs (killed, or on a machine that restarted) is
    taken over with a warning. The lock file is removed when the block ends, also on an exception.
    Meant for the processes that own an output folder (``vbfem demo`` / ``run``, a sweep), not for
    the worker processes they start.

    Yields
    ------
    Path
        The lock file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "results"
    >>> with folder_lock(out) as lock:
    ...     lock.read_text() == str(os.getpid())
    True
    >>> lock.exists()
    False
    """
    folder = Path(folder).resolve()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"output folder {str(folder)!r} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    me = str(os.getpid())
    tmp = folder / f"{LOCK_NAME}.tmp-{me}-{uuid.uuid4().hex[:8]}"
    tmp.write_text(me)
    try:
        for _attempt in range(3):  # a stale lock removed by a third process between two looks: look again
            try:
                os.link(tmp, lock)
                break
            except FileExistsError:
                holder = _lock_holder(lock)
                if holder is None:
                    continue  # removed meanwhile
                if _alive(holder):
                    raise FolderLockedError(
                        f"output folder {str(folder)!r} is in use by process {holder} (lock file {str(lock)!r}); "
                        "wait until it ends or choose another output folder") from None
                log.warning("output folder %s: taking over the lock of process %d, which no longer runs",
                            folder, holder)
                with contextlib.suppress(FileNotFoundError):
                    if _lock_holder(lock) == holder:
                        lock.unlink()
        else:
            raise FolderLockedError(f"output folder {str(folder)!r}: could not take its lock file {str(lock)!r}")
    finally:
        tmp.unlink()
    try:
        yield lock
    finally:
        with contextlib.suppress(FileNotFoundError):
            if lock.read_text() == me:
                lock.unlink()


def _lock_holder(lock: Path) -> int | None:
    """Process id in a lock file (None if it is gone; -1 if it holds no process id)."""
    try:
        text = lock.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else -1


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on this machine; on Windows, where signal 0 would end the process,
    every holder counts as running: remove a stale lock file there by hand)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # runs, as another user
        return True
    return True


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


#: Whether this process has warned that pyarrow is missing (once: a sweep writes a table per case).
_warned_no_pyarrow = False


def write_table(rows: list[dict], folder, *, stem: str = "results", digits: int | None = 6) -> tuple[Path, Path | None]:
    """Write dict ``rows`` as ``<stem>.csv`` and, when pyarrow is installed, ``<stem>.parquet``.

    Parameters
    ----------
    rows : list of dict
        Columns are the keys in first-seen order; a row that lacks a key leaves its cell empty.
    folder : str or Path
    stem : str, default "results", keyword-only
    digits : int or None, default 6, keyword-only
        Significant digits of the floats in the CSV (``format(v, ".6g")``: ``15060.5``, ``0.445433``);
        None writes them in full (``repr``). The Parquet file keeps full precision.

    Returns
    -------
    (Path, Path or None)
        The CSV path and the Parquet path (None without pyarrow: a warning is logged, once per process).
    """
    global _warned_no_pyarrow
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17):
        raise ValueError(f"digits = {digits!r}: must be an integer in [1, 17] or None (full precision)")
    folder = Path(folder)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    csv_path = folder / f"{stem}.csv"

    def text(v):
        return format(v, f".{digits}g") if isinstance(v, float) and digits is not None else v

    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows({k: text(v) for k, v in r.items()} for r in rows)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        if not _warned_no_pyarrow:
            log.warning("pyarrow is not installed: %s.parquet not written (pip install pyarrow)", stem)
            _warned_no_pyarrow = True
        else:
            log.info("pyarrow is not installed: %s.parquet not written", stem)
        return csv_path, None
    pq_path = folder / f"{stem}.parquet"
    with atomic_path(pq_path) as tmp:
        pq.write_table(pa.Table.from_pylist(_typed_columns(rows, columns)), tmp)
    return csv_path, pq_path


def _typed_columns(rows: list[dict], columns: list[str]) -> list[dict]:
    """Rows whose columns mix text with numbers (e.g. ``bone.bmd`` = "osteoporotic" or 0.1) hold text."""
    mixed = [c for c in columns
             if len({str if isinstance(r.get(c), str) else float for r in rows if r.get(c) is not None}) > 1]
    if not mixed:
        return rows
    return [{k: (str(v) if k in mixed and v is not None else v) for k, v in r.items()} for r in rows]
