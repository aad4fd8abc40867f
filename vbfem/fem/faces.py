"""Faces of a mesh: the internal faces with their two cells and the boundary faces with theirs.

Found by matching sorted corner-node tuples of :data:`vbfem.fem.elements.CORNER_FACES`
(vectorised, no loop over cells) and cached per mesh; the finite-volume flow
network, the kyphoplasty cavity search and the height restoration use them.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ..records import Mesh
from .cells import cell_centroids
from .elements import CORNER_FACES

__all__ = ["Faces", "connected_to", "face_components", "mesh_faces"]


@dataclass(frozen=True, eq=False)
class Faces:
    """Face connectivity of a mesh for finite volumes.

    ``inner_i/inner_j`` are the two cells of each internal face, ``inner_area``
    its area vector (mm², pointing from i to j), ``inner_center`` its centroid
    and ``inner_nodes`` its corner nodes (as ``inner_i`` orders them);
    ``bnd_cell/bnd_area/bnd_center/bnd_nodes`` the same for boundary faces (outward).
    """

    inner_i: np.ndarray
    inner_j: np.ndarray
    inner_area: np.ndarray
    inner_center: np.ndarray
    bnd_cell: np.ndarray
    bnd_area: np.ndarray
    bnd_center: np.ndarray
    inner_nodes: np.ndarray
    bnd_nodes: np.ndarray


#: Faces of each live mesh (meshes are frozen; a moved mesh is a new Mesh and gets its own entry).
_FACES: weakref.WeakKeyDictionary[Mesh, Faces] = weakref.WeakKeyDictionary()


def mesh_faces(mesh: Mesh) -> Faces:
    """Internal and boundary faces of ``mesh`` (vectorised node-tuple matching; cached per mesh,
    read-only arrays)."""
    faces = _FACES.get(mesh)
    if faces is None:
        faces = _build_faces(mesh)
        for a in vars(faces).values():
            a.setflags(write=False)
        _FACES[mesh] = faces
    return faces


def _build_faces(mesh: Mesh) -> Faces:
    ct = mesh.cell_type
    local = CORNER_FACES[ct]
    conn = mesh.cells[:, local]  # (n, nf, k)
    n, nf, k = conn.shape
    fn = conn.reshape(-1, k)
    owner = np.repeat(np.arange(n), nf)
    p = mesh.points[fn]  # (m, k, 3)
    if k == 4:
        area = 0.5 * np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 1])
    else:
        area = 0.5 * np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    center = p.mean(axis=1)
    cc = cell_centroids(mesh)
    flip = np.einsum("ij,ij->i", area, center - cc[owner]) < 0
    area[flip] *= -1
    key = np.sort(fn, axis=1)
    order = np.lexsort(key.T[::-1])
    ks = key[order]
    same = np.all(ks[1:] == ks[:-1], axis=1)
    first = np.flatnonzero(same)
    a, b = order[first], order[first + 1]
    paired = np.zeros(fn.shape[0], bool)
    paired[a] = True
    paired[b] = True
    bnd = np.flatnonzero(~paired)
    return Faces(inner_i=owner[a], inner_j=owner[b], inner_area=area[a], inner_center=center[a],
                 bnd_cell=owner[bnd], bnd_area=area[bnd], bnd_center=center[bnd], inner_nodes=fn[a],
                 bnd_nodes=fn[bnd])


def face_components(fi, fj, n: int, *, keep=None) -> np.ndarray:
    """Label of the face-connected component of each of ``n`` cells (int array (n,)).

    ``fi``, ``fj`` are the two cells of each face (e.g. :attr:`Faces.inner_i`, :attr:`Faces.inner_j`);
    with ``keep`` (bool (n,)) only faces between two kept cells connect (a cell not kept is its own
    component).
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    fi, fj = np.asarray(fi, np.int64), np.asarray(fj, np.int64)
    if keep is not None:
        both = np.asarray(keep, bool)[fi] & np.asarray(keep, bool)[fj]
        fi, fj = fi[both], fj[both]
    graph = sp.coo_matrix((np.ones(fi.size), (fi, fj)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def connected_to(fi, fj, n: int, seeds, *, keep=None) -> np.ndarray:
    """Boolean mask (n,) of the cells face-connected to any cell of ``seeds`` (:func:`face_components`)."""
    label = face_components(fi, fj, n, keep=keep)
    return np.isin(label, label[np.asarray(seeds, np.int64)])
