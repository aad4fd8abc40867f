import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from vbfem.fem.primitives import box_mesh, perturbed
from vbfem.records import MaterialMap

CELL_TYPES = ("hex8", "tet4", "tet10")

#: The project's shared real data beside the checkout (``../shared/data``; read in place, never copied).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: The real L3 surface of the shared data (tests that need it skip without it, saying so).
SHARED_L3 = SHARED_DATA / "lumbar_ssm" / "L3.stl"


@pytest.fixture(params=CELL_TYPES)
def cell_type(request):
    return request.param


def distorted_box(cell_type, divisions=(3, 3, 3), size=(2.0, 3.0, 4.0), amplitude=0.2, seed=1):
    """A box whose interior nodes are moved randomly by up to ``amplitude`` of a cell size."""
    mesh = box_mesh(size, divisions, cell_type=cell_type)
    h = min(s / d for s, d in zip(size, divisions))
    return perturbed(mesh, amplitude * h, seed=seed)


def random_materials(n_cells, seed=0):
    rng = np.random.default_rng(seed)
    return MaterialMap(E=rng.uniform(10.0, 2000.0, n_cells), nu=rng.uniform(0.0, 0.45, n_cells))


def random_flow_graph(rng, n, nf, nd, source_cells, source_rates):
    """A random two-point-flux graph for the flow kernel twins: ``n`` cells, ``nf`` faces, ``nd``
    Dirichlet faces. Returns ``fi, fj, flux, dflux, dcell, scell, sq, s, pv`` (drawn in this order)."""
    fi, fj = rng.integers(0, n, nf), rng.integers(0, n, nf)
    flux, dflux = rng.normal(size=nf), rng.normal(size=nd)
    dcell, scell, sq = rng.integers(0, n, nd), np.asarray(source_cells), np.asarray(source_rates, float)
    s, pv = rng.random(n), rng.random(n) + 0.5
    return fi, fj, flux, dflux, dcell, scell, sq, s, pv


CCX_MISSING = "CalculiX `ccx` is not on PATH: install it with `apt-get install calculix-ccx` (CI does)."


@pytest.fixture
def ccx():
    """Skip (or, with VBFEM_REQUIRE_CCX=1 as in CI, fail) when ccx is absent."""
    if shutil.which("ccx") is None:
        if os.environ.get("VBFEM_REQUIRE_CCX") == "1":
            pytest.fail(CCX_MISSING)
        pytest.skip(CCX_MISSING)


#: The synthetic-CT example's folder (study files and ``synthetic_ct.py``).
CT_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ct_vertebra"


def ct_example():
    """The example's ``synthetic_ct`` module (``write_ct``, ``synthetic_ct``, ``nifti_affine``)."""
    spec = importlib.util.spec_from_file_location("synthetic_ct", CT_EXAMPLE / "synthetic_ct.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ct_study_dir(tmp_path_factory):
    """A folder holding the example's synthetic CT at 3 mm (scan, labels, phantom fit)."""
    pytest.importorskip("nibabel")
    d = tmp_path_factory.mktemp("ct")
    ct_example().write_ct(d, spacing=3.0, noise_hu=10.0)
    return d


@pytest.fixture(scope="module")
def l1_3mm():
    """The parametric L1 meshed at 3 mm with homogeneous osteoporotic bone: ``(geometry, mesh, materials)``."""
    from vbfem.anatomy.geometry import build_vertebra
    from vbfem.anatomy.mesher import mesh_vertebra
    from vbfem.materials.bone import assign_bone

    g = build_vertebra("L1")
    m = mesh_vertebra(g, size=3.0)
    return g, m, assign_bone(m, heterogeneity=0.0)
