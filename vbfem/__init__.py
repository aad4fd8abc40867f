"""vbfem: finite-element models of vertebral compression fractures and their cement treatments.

Units: mm, N, MPa, s, g/cm³. Axes: +x anterior, +y left, +z superior.

A study script needs only this module's names (listed in ``__all__``)::

    import vbfem
    geometry = vbfem.build_vertebra("L1")
    mesh = vbfem.mesh_vertebra(geometry, size=2.0)
    bone = vbfem.assign_bone(mesh, bmd="osteoporotic")
    fmesh, fbone = vbfem.apply_fracture(mesh, bone, "wedge", grade=2)

Layout and layering
-------------------
The subpackages follow the pipeline (``docs/architecture.md``)::

    records    the shared vocabulary (Mesh, MaterialMap, CementFill, LoadCase, Result)
    fem        finite elements: knows nothing about vertebrae
    anatomy    geometry and meshes of the vertebral body
    materials  bone, cement, composites, porous media, tissue strength
    fracture   deformities, the damaged band, defects, cohorts
    treatment  needles, cement flow, vertebroplasty, balloons, kyphoplasty
    mechanics  load cases, responses, failure, comparison of states
    output     file formats, pictures, plots, reports
    study      study files, the pipeline, sweeps, verification and validation
    plan       treatment planning under uncertainty (surrogate, sequential design, verification)
    cli        the command line

The rule, checked by ``tests/test_layering.py``: ``records`` imports nothing from
vbfem; ``fem`` imports only ``records``; each stage from ``anatomy`` to ``mechanics``
imports only ``records``, ``fem`` and the stages listed before it; ``output`` imports
nothing above ``mechanics``; ``study`` may import everything but ``cli``; ``plan`` imports the
layers below it (simulations through ``study``'s sweeps), and ``cli`` sits on top. Within a stage, modules import each other freely (without cycles).
"""

__version__ = "0.1.0"

import functools as _functools
import hashlib as _hashlib
import logging as _logging
import os as _os
import sys as _sys
from pathlib import Path as _Path

_log = _logging.getLogger(__name__)


def numba_cache_dir() -> _Path:
    """The per-user folder where vbfem's compiled numba kernels are cached.

    ``$XDG_CACHE_HOME/vbfem/numba`` (default ``~/.cache/vbfem/numba``) on Linux,
    ``~/Library/Caches/vbfem/numba`` on macOS, ``%LOCALAPPDATA%\\vbfem\\Cache\\numba`` on Windows.
    Not used when ``NUMBA_CACHE_DIR`` is set: numba then caches every kernel there itself.

    The kernels are cached here rather than in ``__pycache__`` beside their source: numba's files
    there are not part of an installed distribution, so uninstalling vbfem left the folders behind,
    and in a later editable install of the same environment they shadowed the package
    (``cannot import name ... (unknown location)``, issue 23).

    Returns
    -------
    Path
        The folder (not created here); one sub-folder per kernel folder of each vbfem copy
        (:class:`_KernelCacheLocator`).
    """
    if _sys.platform == "win32":
        root = _Path(_os.environ.get("LOCALAPPDATA") or _Path.home() / "AppData" / "Local") / "vbfem" / "Cache"
    elif _sys.platform == "darwin":
        root = _Path.home() / "Library" / "Caches" / "vbfem"
    else:
        root = _Path(_os.environ.get("XDG_CACHE_HOME") or _Path.home() / ".cache") / "vbfem"
    return root / "numba"


@_functools.lru_cache(maxsize=64)
def _folder_stamp(folder: str, listing: tuple) -> str:
    """SHA-256 over the names and contents of the ``.py`` files of ``listing`` (``(name, mtime_ns, size)``
    of each, which keys this memo) in ``folder``."""
    h = _hashlib.sha256()
    for name, _, _ in listing:
        h.update(name.encode() + b"\0")
        h.update((_Path(folder) / name).read_bytes() + b"\0")
    return h.hexdigest()


def kernel_source_stamp(folder) -> str:
    """A fingerprint of the Python sources of a kernel folder: the SHA-256 of every ``.py`` file's name
    and content there.

    It is the freshness stamp of every cached kernel of that folder (:class:`_KernelCacheLocator`).
    numba stamps a kernel with its own file only, so a kernel that inlines a kernel of a sibling
    module (``fem/_kernels/plasticity.py`` calls ``elasticity.py``'s) would keep a stale machine code
    after that sibling changed; with the folder's stamp, a change of any of its modules recompiles them all.

    Parameters
    ----------
    folder : str or Path
        The folder of the kernel modules.

    Returns
    -------
    str
        64 hex digits.
    """
    folder = str(folder)
    with _os.scandir(folder) as it:
        listing = tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in it
                               if e.name.endswith(".py") and e.is_file()))
    return _folder_stamp(folder, listing)


def _install_numba_cache_locator() -> None:
    """Make numba cache vbfem's kernels in :func:`numba_cache_dir` instead of in the package.

    A cache locator for the kernels defined in this package's files goes first in numba's list: it
    declines (numba's own locators then apply) when ``NUMBA_CACHE_DIR`` is set or the folder cannot be
    written; it does not touch other packages' kernels or the environment. It must be in place
    before any kernel module is imported (``@njit(cache=True)`` picks its locator when it decorates).

    The list is numba's internal (``CacheImpl._locator_classes``, ``_CacheImpl`` before numba 0.61):
    a numba without it gets ``NUMBA_CACHE_DIR = numba_cache_dir()`` instead (unless set), which also
    moves the cache of other packages' kernels in this process and its children.
    """
    try:
        from numba.core import caching, config
    except ImportError:  # numba is a dependency: its own import error comes with the first kernel module
        return
    base = getattr(caching, "_CacheLocator", None)
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    if base is None or not isinstance(getattr(impl, "_locator_classes", None), list):
        if not config.CACHE_DIR:
            folder = str(numba_cache_dir())
            _os.environ["NUMBA_CACHE_DIR"] = config.CACHE_DIR = folder
            _log.info("numba %s has no cache locator list: NUMBA_CACHE_DIR set to %s",
                      getattr(_sys.modules.get("numba"), "__version__", "?"), folder)
        return
    package = _os.path.dirname(_os.path.abspath(__file__))

    class _KernelCacheLocator(base):
        """numba cache locator of vbfem's kernels: ``numba_cache_dir() / <folder>_<sha1 of its path>``.

        The folder's path is in the name, so two copies of vbfem (versions, checkouts, environments)
        never share an entry; within one, an entry is stale when :func:`kernel_source_stamp` of its
        folder changed (numba compiles it again and overwrites it). numba's own checks stay: its
        version, the Python version, the signature and the CPU.
        """

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            folder = _os.path.dirname(_os.path.abspath(py_file))
            digest = _hashlib.sha1(folder.encode()).hexdigest()
            parent = _os.path.basename(_os.path.dirname(folder))
            self._cache_path = str(numba_cache_dir() / f"{parent}.{_os.path.basename(folder)}_{digest}")

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return kernel_source_stamp(_os.path.dirname(_os.path.abspath(self._py_file)))

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            if config.CACHE_DIR or not _os.path.isfile(py_file):
                return None
            if _os.path.commonpath([_os.path.abspath(py_file), package]) != package:
                return None  # not vbfem's: numba's locators decide
            self = cls(py_func, py_file)
            try:
                self.ensure_cache_path()
            except OSError as exc:
                _log.debug("numba cache folder %s not writable (%s): numba's default is used",
                           self._cache_path, exc)
                return None
            return self

    classes = impl._locator_classes
    classes[:] = [c for c in classes if c.__name__ != _KernelCacheLocator.__name__]  # a reload replaces it
    classes.insert(0, _KernelCacheLocator)


_install_numba_cache_locator()

from .anatomy.geometry import Geometry, build_vertebra
from .anatomy.heights import measure_heights
from .anatomy.mesher import mesh_vertebra
from .anatomy.surface import from_surface
from .fem.loads import fixed, load_case, nodal_force, platen_compression, rigid_platen
from .fem.static import solve_static
from .fracture.deformity import apply_fracture
from .materials.bone import assign_bone
from .materials.cement import with_cement
from .mechanics.compare import compare_states
from .mechanics.failure import load_displacement
from .mechanics.loadcases import compression_test
from .records import TISSUES, CementFill, LoadCase, MaterialMap, Mesh, Platen, Result, SolverInfo
from .study.pipeline import run_study
from .study.schema import Study, StudyError, load_study
from .treatment.kyphoplasty import simulate_kyphoplasty
from .treatment.needles import bipedicular, unipedicular
from .treatment.vertebroplasty import simulate_vertebroplasty

__all__ = [
    # records
    "TISSUES", "CementFill", "LoadCase", "MaterialMap", "Mesh", "Platen", "Result", "SolverInfo",
    # the pipeline's stages, in order
    "Geometry", "build_vertebra", "from_surface", "mesh_vertebra", "measure_heights", "assign_bone",
    "apply_fracture", "bipedicular", "unipedicular", "simulate_vertebroplasty", "simulate_kyphoplasty",
    "with_cement", "compression_test", "fixed", "load_case", "nodal_force", "platen_compression", "rigid_platen",
    "solve_static", "load_displacement", "compare_states",
    # studies
    "Study", "StudyError", "load_study", "run_study",
]
