"""Where numba caches vbfem's kernels: a per-user folder, never the package (issue 23).

Each test compiles one small kernel in a fresh Python process, as a new user's first run does.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import vbfem

PACKAGE = Path(vbfem.__file__).parent

#: Compiles (or loads) one small kernel and prints where numba cached it and whether it was a hit.
SCRIPT = """
import json, sys
import numpy as np
{before}
import vbfem
from vbfem.treatment._kernels import flow
flow.fractional_flow(np.linspace(0.0, 1.0, 5), 1.0, 2.0, 1.0, 1.0)
st = flow.fractional_flow.stats
print(json.dumps({{"path": st.cache_path, "hits": sum(st.cache_hits.values()),
                  "misses": sum(st.cache_misses.values()), "env": __import__("os").environ.get("NUMBA_CACHE_DIR")}}))
"""


def _run(tmp_path, *, numba_cache_dir=None, before=""):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE.parent), env.get("PYTHONPATH", "")])
    if numba_cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache_dir)
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(before=before)], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _numba_files(folder: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")}


def test_kernels_are_cached_in_the_user_folder_and_loaded_from_there(tmp_path):
    in_package = _numba_files(PACKAGE)
    first = _run(tmp_path)
    root = tmp_path / "xdg" / "vbfem" / "numba"
    assert Path(first["path"]).parent == root, first
    assert first["env"] is None  # the environment is left alone
    assert first["misses"] == 1 and first["hits"] == 0
    assert any(Path(first["path"]).glob("flow.fractional_flow-*.nbi"))
    second = _run(tmp_path)
    assert second["path"] == first["path"] and second["hits"] == 1 and second["misses"] == 0
    # nothing was written into the package (an uninstall would leave it behind)
    assert _numba_files(PACKAGE) == in_package


def test_numba_cache_dir_set_by_the_user_wins(tmp_path):
    got = _run(tmp_path, numba_cache_dir=tmp_path / "mine")
    assert Path(got["path"]).parent == tmp_path / "mine"
    assert not (tmp_path / "xdg").exists()


def test_a_numba_without_the_locator_list_gets_numba_cache_dir(tmp_path):
    # as a numba whose internals moved: vbfem falls back on the documented environment variable
    hide = ("import numba.core.caching as c\n"
            "for name in ('CacheImpl', '_CacheImpl'):\n"
            "    c.__dict__.pop(name, None)\n")
    got = _run(tmp_path, before=hide)
    root = tmp_path / "xdg" / "vbfem" / "numba"
    assert got["env"] == str(root)
    assert Path(got["path"]).parent == root


def test_the_stamp_of_a_kernel_folder_follows_every_module_in_it(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    (tmp_path / "notes.txt").write_text("not a module")
    stamp = vbfem.kernel_source_stamp(tmp_path)
    assert len(stamp) == 64 and vbfem.kernel_source_stamp(tmp_path) == stamp
    (tmp_path / "notes.txt").write_text("still not a module")
    assert vbfem.kernel_source_stamp(tmp_path) == stamp
    (tmp_path / "b.py").write_text("y = 3\n")  # a sibling module changed: every kernel of the folder is stale
    changed = vbfem.kernel_source_stamp(tmp_path)
    assert changed != stamp
    (tmp_path / "b.py").write_text("y = 2\n")
    assert vbfem.kernel_source_stamp(tmp_path) == stamp  # content, not time
