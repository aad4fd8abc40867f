import numpy as np
import pytest

from vbfem.primitives import box_mesh, perturbed
from vbfem.records import MaterialMap

CELL_TYPES = ("hex8", "tet4", "tet10")


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
