"""The lock file of an output folder (issue 22): one live process writes into a folder; real processes."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vbfem.output.atomic import LOCK_NAME, FolderLockedError, folder_lock

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
ENV.pop("VBFEM_MAX_MEMORY", None)

HOLD = """
import sys, time
from vbfem.output.atomic import folder_lock
with folder_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """A live process holding the lock of ``tmp_path / "out"``; killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "out")], env=ENV, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_a_live_holder_is_named_and_the_lock_is_released_at_the_end(tmp_path, holder):
    out = tmp_path / "out"
    with pytest.raises(FolderLockedError, match=rf"output folder '{out}' is in use by process {holder.pid} "):
        with folder_lock(out):
            pass
    assert (out / LOCK_NAME).read_text() == str(holder.pid)  # the refused process left the holder's lock alone
    holder.send_signal(signal.SIGTERM)  # an ended holder ...
    holder.wait()
    with folder_lock(out) as lock:  # ... leaves a stale lock behind (SIGTERM runs no finally) or none
        assert lock.read_text() == str(os.getpid())
    assert not lock.exists() and not list(out.glob(f"{LOCK_NAME}*"))


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path, caplog):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], env=ENV, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    proc.send_signal(signal.SIGKILL)  # dies holding it: the lock file stays
    proc.wait()
    assert (out / LOCK_NAME).read_text() == str(proc.pid)
    with caplog.at_level(logging.WARNING, logger="vbfem.output.atomic"):
        with folder_lock(out) as lock:
            assert lock.read_text() == str(os.getpid())
    assert f"taking over the lock of process {proc.pid}, which no longer runs" in caplog.text
    assert not lock.exists()


def test_an_exception_releases_the_lock(tmp_path):
    with pytest.raises(RuntimeError):
        with folder_lock(tmp_path / "out"):
            raise RuntimeError("failed run")
    assert not (tmp_path / "out" / LOCK_NAME).exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        with folder_lock(tmp_path / "file"):
            pass


STUDY = "version = 1\nname = 's'\n[mesh]\nsize = 10.0\n[load]\nstrength = 'linear'\n"
SWEEP = ("version = 1\n[base]\nname = 's'\n[base.mesh]\nsize = 10.0\n[base.load]\nstrength = 'linear'\n"
         "[grid]\n'bone.bmd' = [0.1, 0.12]\n")


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_the_command_line_refuses_a_folder_another_run_holds(tmp_path, holder, command):
    """``vbfem run`` / ``vbfem sweep`` into a held --out: exit 2 before computing, naming folder and holder."""
    (tmp_path / "s.toml").write_text(STUDY if command == "run" else SWEEP)
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "vbfem.cli", "-q", command, "s.toml", "--out", "out"],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"in use by process {holder.pid}" in done.stderr and str(tmp_path / "out") in done.stderr
    assert not (tmp_path / "out" / "results.csv").exists()
    assert time.monotonic() - t0 < 60
