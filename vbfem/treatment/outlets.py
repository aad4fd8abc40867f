"""Where leaked cement went: outlet classes, leaked volume per class and the time of the first leak.

Every ``"outlet_*"`` cell set is a leakage outlet of the flow model (:mod:`vbfem.treatment.flow`).
The paths seen on post-operative CT fall into three classes, and the outlets are sorted into them by
name (:func:`outlet_class`):

* ``"venous"``: the basivertebral vein through its foramen in the posterior wall
  (``outlet_basivertebral``, :func:`vbfem.treatment.vertebroplasty.foramen_outlet`) and any outlet
  named for a vein or plexus (``venous``, ``vein``, ``plexus``, ``segmental``, ``epidural``);
* ``"cortical"``: cortical breaches and fracture clefts (``breach``, ``cleft``, ``cortical``;
  :mod:`vbfem.fracture.defects` names them ``outlet_breach_<name>``);
* ``"disc"``: endplate cracks into the disc (``endplate``, ``disc``; ``outlet_endplate_crack``).

Anything else is ``"other"``. A leak is counted when the cement that left the body exceeds
:data:`LEAK_DETECTION` (the first-leak time is when it does): the upwind transport carries a
vanishing trace of cement ahead of the front, which is not a leak anyone would see.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEAK_DETECTION", "OUTLET_CLASSES", "leak_path", "leak_summary", "outlet_class"]

#: Outlet classes of the leakage report (post-operative CT categories).
OUTLET_CLASSES = ("venous", "cortical", "disc")

#: Leaked volume (mm³) from which a leak counts: 10 mm³ = 0.01 mL, a sphere of 2.7 mm diameter, about
#: one voxel-row of a clinical CT (assumption, unverified: no published CT detection limit of cement
#: leakage was found for this project). The class volumes are reported in full whatever this is.
LEAK_DETECTION = 10.0

_KEYWORDS = (
    ("venous", ("basivertebral", "venous", "vein", "plexus", "segmental", "epidural")),
    ("cortical", ("breach", "cleft", "cortical")),
    ("disc", ("endplate", "disc")),
)


def outlet_class(name: str) -> str:
    """Class of the outlet cell set ``name`` (module docstring): "venous", "cortical", "disc" or "other".

    Examples
    --------
    >>> outlet_class("outlet_basivertebral"), outlet_class("outlet_breach_anterior"), outlet_class("outlet_endplate_crack")
    ('venous', 'cortical', 'disc')
    """
    low = str(name).lower()
    for cls, words in _KEYWORDS:
        if any(w in low for w in words):
            return cls
    return "other"


def leak_summary(times, leaked_outlets, outlet_names, *, start: float,
                 detection: float = LEAK_DETECTION) -> dict:
    """Leaked volume per class and the first leak of a run's history.

    Parameters
    ----------
    times : array_like (n_t,)
        s after mixing.
    leaked_outlets : array_like (n_t, n_outlets)
        Cumulative leaked volume per outlet, mm³ (:func:`vbfem.treatment.flow.run_impes`).
    outlet_names : sequence of str
    start : float, keyword-only
        Start of the injection, s after mixing (the first-leak time is counted from it).
    detection : float
        mm³ from which a leak counts (default :data:`LEAK_DETECTION`).

    Returns
    -------
    dict
        ``leaked_<class>`` (mm³ at the end, for each of :data:`OUTLET_CLASSES` and "other"),
        ``leak`` (bool: the total exceeds ``detection``), ``first_leak_time`` (s after ``start``,
        NaN without a leak) and ``first_leak_class`` (the class whose volume first exceeds
        ``detection``; "" without a leak).
    """
    if not (np.isfinite(detection) and detection > 0):
        raise ValueError(f"detection={detection!r} must be a volume > 0 mm³")
    t = np.asarray(times, float)
    names = tuple(outlet_names)
    L = np.asarray(leaked_outlets, float).reshape(t.size, len(names)) if t.size else np.zeros((0, len(names)))
    classes = (*OUTLET_CLASSES, "other")
    cls_of = np.array([classes.index(outlet_class(nm)) for nm in names], np.int64)
    per_class = np.zeros((t.size, len(classes)))
    for k in range(len(classes)):  # four classes, not a loop over time
        per_class[:, k] = L[:, cls_of == k].sum(axis=1)
    out = {f"leaked_{c}": float(per_class[-1, k]) if t.size else 0.0 for k, c in enumerate(classes)}
    over = per_class.sum(axis=1) > detection
    out["leak"] = bool(over.any())
    if over.any():
        i = int(np.argmax(over))
        out["first_leak_time"] = float(t[i] - start)
        out["first_leak_class"] = classes[int(np.argmax(per_class[i]))]
    else:
        out["first_leak_time"] = float("nan")
        out["first_leak_class"] = ""
    return out


def leak_path(mesh, arrival_time, outlet_cells, *, until: float | None = None) -> np.ndarray:
    """Cells of the path by which cement first reached an outlet, from where it entered to the outlet.

    The cement cells (finite ``arrival_time``, at most ``until``) form a graph of face neighbours;
    the path is the shortest one in summed arrival-time steps ``|t_i - t_j|`` (plus a tiny step per
    cell, so that equal times take the fewest cells) from the earliest-filled cells to the cement
    cell at the outlet that cement reached first (Dijkstra, :func:`scipy.sparse.csgraph.dijkstra`).
    Outlet cells are not flow cells (cement leaves through their faces and never "arrives" in them),
    so a cement cell at the outlet is one in it or sharing a face with it.

    Parameters
    ----------
    mesh : Mesh
    arrival_time : array_like (n_cells,)
        Time (s) cement reached each cell, NaN where it did not (:attr:`vbfem.records.CementFill.arrival_time`).
    outlet_cells : array_like of int
        The outlet's cells (e.g. ``mesh.cell_sets["outlet_breach_anterior"]``).
    until : float, optional, keyword-only
        Only cement that had arrived by this time (s after mixing); default all.

    Returns
    -------
    ndarray of int
        Cells from the source to the outlet, in order; empty if no cement reached the outlet.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    from ..fem.faces import mesh_faces

    t = np.asarray(arrival_time, float)
    if t.shape != (mesh.n_cells,):
        raise ValueError(f"arrival_time must have shape ({mesh.n_cells},), got {t.shape}")
    filled = np.isfinite(t) if until is None else np.isfinite(t) & (t <= until)
    faces = mesh_faces(mesh)
    i, j = faces.inner_i, faces.inner_j
    outlet = np.zeros(mesh.n_cells, bool)
    outlet[np.asarray(outlet_cells, np.int64)] = True
    at_outlet = outlet.copy()
    at_outlet[i[outlet[j]]] = True  # and its face neighbours
    at_outlet[j[outlet[i]]] = True
    reached = np.flatnonzero(at_outlet & filled)
    if reached.size == 0:
        return np.zeros(0, np.int64)
    keep = filled[i] & filled[j]
    i, j = i[keep], j[keep]
    span = float(np.ptp(t[filled])) or 1.0
    w = np.abs(t[i] - t[j]) + 1e-6 * span
    graph = sp.coo_matrix((np.r_[w, w], (np.r_[i, j], np.r_[j, i])), shape=(mesh.n_cells,) * 2).tocsr()
    sources = np.flatnonzero(filled & (t <= t[filled].min()))
    _, pred, _ = dijkstra(graph, indices=sources, min_only=True, return_predecessors=True)
    target = int(reached[np.argmin(t[reached])])
    path = [target]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return np.array(path[::-1], np.int64)
