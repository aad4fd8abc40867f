"""Face-connected components of cells (vbfem.fem.faces)."""

import numpy as np

from vbfem.fem.faces import connected_to, face_components, mesh_faces
from vbfem.fem.primitives import box_mesh


def test_components_of_a_bar_cut_by_a_mask():
    bar = box_mesh((5.0, 1.0, 1.0), (5, 1, 1))  # five unit hexes in a row
    x = bar.points[bar.cells].mean(axis=1)[:, 0]
    assert np.allclose(np.sort(x), [0.5, 1.5, 2.5, 3.5, 4.5])
    order = np.argsort(x)  # cell index of the k-th hex along x
    f = mesh_faces(bar)
    assert np.unique(face_components(f.inner_i, f.inner_j, 5)).size == 1
    keep = np.ones(5, bool)
    keep[order[2]] = False  # the middle hex cuts the bar in two
    label = face_components(f.inner_i, f.inner_j, 5, keep=keep)[order]
    assert label[0] == label[1] and label[3] == label[4] and len({label[0], label[2], label[3]}) == 3
    assert connected_to(f.inner_i, f.inner_j, 5, [order[0]], keep=keep)[order].tolist() == [True, True, False,
                                                                                            False, False]
    both = connected_to(f.inner_i, f.inner_j, 5, order[[0, 4]], keep=keep)[order]
    assert both.tolist() == [True, True, False, True, True]
