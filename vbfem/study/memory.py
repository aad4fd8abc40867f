"""The memory of a study or a sweep, estimated before anything is built, against the memory budget.

:func:`vbfem.anatomy.mesher.mesh_vertebra` checks one study in one process; the checks here add the
processes that run beside it: the strength-curve workers of a study on the nonlinear strength
(:func:`vbfem.study.pipeline.check_inputs`, which ``run_study`` calls with its ``workers``), and the studies
a sweep runs at once (see :func:`vbfem.anatomy.mesher.estimate_memory` and ``docs/limits.md``). A study of a
surface is checked when its mesh is made, for one process (its cells are not known before); a study of an
image is not checked (its voxels are its cells).
"""

from __future__ import annotations

from .schema import Study

__all__ = ["check_study_memory", "curve_workers"]


def curve_workers(study: Study, workers: int) -> int:
    """Strength-curve worker processes :func:`vbfem.study.pipeline.run_study` starts for ``study`` with
    ``workers``: ``min(workers, number of states)`` on the nonlinear strength when that exceeds 1, else 0."""
    n_states = 1 + (study.fracture.kind != "none") + len(study.treatments)
    n = min(int(workers), n_states)
    return n if study.load.strength == "nonlinear" and n > 1 else 0


def check_study_memory(studies, *, workers: int = 1, processes: int = 1, max_memory: float | None = None) -> None:
    """ValueError (see :func:`vbfem.anatomy.mesher.check_mesh_memory`) when the largest of ``studies``,
    run ``processes`` at a time, each with the strength-curve workers of ``workers``, is estimated to need
    more than ``max_memory`` GiB (default :func:`vbfem.anatomy.mesher.memory_budget`).

    Parameters
    ----------
    studies : Study or sequence of Study
        Studies of a surface (meshed from the surface, not counted beforehand) are left to
        ``mesh_vertebra``'s own check; studies of an image are not checked.
    workers : int, keyword-only, default 1
        ``workers`` of :func:`vbfem.study.pipeline.run_study` (``--workers`` of ``vbfem demo`` / ``run``).
    processes : int, keyword-only, default 1
        Studies running at once (a sweep's local worker processes).
    max_memory : float, optional, keyword-only
        GiB.
    """
    from ..anatomy.geometry import build_vertebra
    from ..anatomy.mesher import check_mesh_memory, count_cells, estimate_memory

    studies = [studies] if isinstance(studies, Study) else list(studies)
    geometries, seen, worst = {}, set(), None
    for st in studies:
        if st.geometry.surface is not None or st.geometry.image is not None:
            continue
        key = (st.geometry.level, st.mesh.size, st.mesh.cell_type, curve_workers(st, workers))
        if key in seen:
            continue
        seen.add(key)
        if st.geometry.level not in geometries:
            geometries[st.geometry.level] = build_vertebra(st.geometry.level)
        g = geometries[st.geometry.level]
        need = estimate_memory(count_cells(g, size=st.mesh.size, cell_type=st.mesh.cell_type), st.mesh.cell_type,
                               curve_workers=key[3], processes=processes)
        if worst is None or need > worst[0]:
            worst = (need, g, st, key[3])
    if worst is not None:
        _, g, st, n_curve = worst
        check_mesh_memory(g, size=st.mesh.size, cell_type=st.mesh.cell_type, max_memory=max_memory,
                          curve_workers=n_curve, processes=processes)
