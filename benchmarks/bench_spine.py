"""Functional-spinal-unit benchmark (issue 20): a three-level unit, linear, the load directions, and
the intact / fractured / VP / KP comparison of a study in its unit.

Prints one table row per step: cells, nodes, seconds, and the intradiscal pressures. The first solve
after start-up also loads the compiled kernels; a warm-up solve on a coarse unit runs first and is
reported separately. Targets (issue 20): the four load directions < 30 s on 2 cores after warm-up;
the four states < 3 min. The load average (``uptime``) is printed before and after: other jobs on the
machine change the times by up to 3 times.

    python benchmarks/bench_spine.py [--size 2.0] [--level L3] [--states] [--profile] [--diagnose] [--idp] [--cavity]

``--profile``: the four directions' seconds by stage (assembly, reduction, multigrid set-up, each CG
solve, outputs) and cProfile's most expensive functions.

``--diagnose`` only: the AMG-CG iterations of one flexion solve of the unit with its materials
changed one at a time (nucleus nu 0.3, no annulus fibres, the discs 100 times stiffer, one uniform
material), to show where the iterations come from.

``--idp`` only: the intradiscal pressure of an intact L4-L5 unit (normal bone) under 500 N with one disc
parameter changed at a time (the fluid-filled nucleus as built, its skeleton and fluid varied, fibres off
or circumferential, the solid nucleus at nu 0.49 and 0.499), and the nucleus's share of the axial force
(docs/spine.md).

``--cavity`` only: two ways of solving the fluid-filled nuclei of the three-level unit in compression:
Sherman-Morrison-Woodbury (``solve_unit``: the load and one unit-pressure case per disc on the plain
matrix) against the rank-one terms added to the assembled matrix (``vbfem.fem.cavity.add_cavities``:
dense blocks over the nucleus walls' dofs), each with the direct solver and AMG-CG, and the solid nucleus
for reference.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np


def _unit(level, size, levels=3, **options):
    from vbfem.anatomy.geometry import build_vertebra
    from vbfem.anatomy.mesher import mesh_vertebra
    from vbfem.materials.bone import assign_bone
    from vbfem.mechanics.spinal_unit import assemble_unit, prepare_spine

    mesh = mesh_vertebra(build_vertebra(level), size=size)
    bone = assign_bone(mesh, seed=0)
    return assemble_unit(prepare_spine(mesh, level=level, levels=levels, size=size, **options), mesh, bone)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=2.0, help="element size, mm (default 2, the study default)")
    ap.add_argument("--level", default="L3")
    ap.add_argument("--states", action="store_true", help="also the intact/fractured/VP/KP comparison")
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--diagnose", action="store_true", help="only: CG iterations with the materials varied")
    ap.add_argument("--idp", action="store_true", help="only: L4-L5 disc pressure with the disc model varied")
    ap.add_argument("--profile", action="store_true",
                    help="also: where the four directions' time goes (stages and cProfile)")
    ap.add_argument("--cavity", action="store_true", help="only: Woodbury vs the assembled rank-one matrix")
    args = ap.parse_args(argv)
    if args.cavity:
        return _cavity(args.level, args.size)
    if args.diagnose:
        return _diagnose(args.level, args.size, args.solver)
    if args.idp:
        return _idp(args.size, args.solver)

    from vbfem.mechanics.spine import solve_unit, unit_load_case, unit_response

    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    t = time.perf_counter()
    warm = _unit(args.level, 6.0)
    solve_unit(warm, unit_load_case(warm, "compression"), solver=args.solver)
    print(f"warm-up (6 mm unit, {warm.mesh.n_cells} cells): {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    unit = _unit(args.level, args.size)
    t_build = time.perf_counter() - t
    print(f"\nthree-level unit {'-'.join(unit.levels)} at {args.size:g} mm: {unit.mesh.n_cells} cells, "
          f"{unit.mesh.n_points} nodes, built in {t_build:.1f} s")
    print(f"{'case':<18}{'seconds':>9}{'iters':>7}  {'IDP (MPa)':<28}{'rotation (deg)':>16}")
    total, separate = 0.0, {}
    for case in ("compression", "flexion", "extension", "lateral_bending", "axial_rotation"):
        t = time.perf_counter()
        (res,) = solve_unit(unit, unit_load_case(unit, case), solver=args.solver)
        r = unit_response(unit, res)
        dt = time.perf_counter() - t
        separate[case] = r
        if case != "compression":
            total += dt
        idp = ", ".join(f"{d} {p:.3f}" for d, p in r.intradiscal_pressure.items())
        rot = np.degrees(r.rotation)
        print(f"{case:<18}{dt:>9.1f}{res.solver.iterations:>7}  {idp:<28}{np.abs(rot).max():>16.2f}")
    print(f"four moment directions, one solve_unit each: {total:.1f} s (target < 30 s)")
    cases = ("flexion", "extension", "lateral_bending", "axial_rotation")
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    t = time.perf_counter()
    results = solve_unit(unit, [unit_load_case(unit, c) for c in cases], solver=args.solver)
    t_solve = time.perf_counter() - t
    shared = [unit_response(unit, r) for r in results]
    dt = time.perf_counter() - t
    if args.profile:
        profile.disable()
        _print_profile(profile, results, t_solve, dt)
    diff = max(abs(a.intradiscal_pressure[d] / b.intradiscal_pressure[d] - 1) for c, a in zip(cases, shared)
               for b in (separate[c],) for d in a.intradiscal_pressure)
    rot = max(np.abs(a.rotation - separate[c].rotation).max() / np.abs(separate[c].rotation).max()
              for c, a in zip(cases, shared))
    print(f"four moment directions, one solve_unit (one matrix, one hierarchy): {dt:.1f} s "
          f"(iterations {', '.join(str(r.solver.iterations) for r in results)}; IDP differs from the single "
          f"solves by {diff:.1e} relative, the rotations by {rot:.1e})")

    if args.states:
        from vbfem.study.pipeline import build_states
        from vbfem.study.schema import load_study
        from vbfem.study.spine import run_unit_states

        study = load_study("examples/vp_vs_kp.toml")
        study = study.replace(mesh=dataclasses.replace(study.mesh, size=args.size),
                              geometry=dataclasses.replace(study.geometry, level=args.level))
        t = time.perf_counter()
        _, states = build_states(study)
        t_states = time.perf_counter() - t
        t = time.perf_counter()
        rows = run_unit_states(study, levels=3, states=states, solver=args.solver)
        t_units = time.perf_counter() - t
        print(f"\nstates of examples/vp_vs_kp.toml at {args.level}, {args.size:g} mm: pipeline states "
              f"{t_states:.1f} s, units + compression {t_units:.1f} s, total {t_states + t_units:.1f} s "
              "(target < 180 s)")
        keys = [k for k in rows[0] if k.startswith(("idp_", "risk_ratio_", "cement"))]
        print(f"{'state':<11}" + "".join(f"{k:>22}" for k in keys))
        for row in rows:
            print(f"{row['state']:<11}" + "".join(f"{row[k]:>22.4f}" for k in keys))
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


def _print_profile(profile, results, t_solve, total):
    """Where the four directions' seconds go: the stages of ``solve_static_cases`` and the outputs, then
    cProfile's functions by own time."""
    import pstats

    first = results[0]
    stages = {
        "constraint maps (4)": sum(r.timings["constraints"] for r in results),
        "assembly": first.timings["assembly"],
        "reduction (T^T K T)": sum(r.timings["reduction"] for r in results),
        "AMG set-up": first.solver.setup_time,
        **{f"CG {i + 1} ({r.solver.iterations} it.)": r.solver.solve_time for i, r in enumerate(results)},
        "fields, reactions (4)": sum(r.timings["post"] for r in results),
    }
    stages["other (Ritz vectors, right-hand sides)"] = t_solve - sum(stages.values())
    stages["unit_response (4)"] = total - t_solve
    print(f"\n{'stage':<40}{'seconds':>9}{'share':>8}")
    for name, sec in stages.items():
        print(f"{name:<40}{sec:>9.2f}{sec / total:>8.0%}")
    pstats.Stats(profile).sort_stats("tottime").print_stats(12)


def _diagnose(level, size, solver):
    from vbfem import solve_static
    from vbfem.mechanics.spine import unit_load_case

    unit = _unit(level, size, nucleus="solid")  # the matrix alone: the solid nucleus, no cavity
    m, mesh = unit.materials, unit.mesh
    disc = np.zeros(mesh.n_cells, bool)
    disc[np.concatenate([mesh.cell_sets["nucleus"], mesh.cell_sets["annulus"]])] = True
    nucleus = np.zeros(mesh.n_cells, bool)
    nucleus[mesh.cell_sets["nucleus"]] = True
    variants = {
        "as built": m,
        "nucleus nu 0.3": dataclasses.replace(m, nu=np.where(nucleus, 0.3, m.nu)),
        "no annulus fibres": dataclasses.replace(m, stiffness=None),
        "no fibres, discs E x 100": dataclasses.replace(m, E=np.where(disc, 100.0 * m.E, m.E), stiffness=None),
        "uniform E 100 MPa, nu 0.3": dataclasses.replace(m, E=np.full_like(m.E, 100.0), nu=np.full_like(m.nu, 0.3),
                                                         stiffness=None),
    }
    print(f"unit {'-'.join(unit.levels)} at {size:g} mm, {mesh.n_cells} cells; E {np.nanmin(m.E):g}-"
          f"{np.nanmax(m.E):g} MPa; flexion")
    print(f"{'materials':<28}{'iters':>7}{'seconds':>9}")
    for name, mat in variants.items():
        t = time.perf_counter()
        res = solve_static(mesh, mat, unit_load_case(unit, "flexion"), solver=solver)
        print(f"{name:<28}{res.solver.iterations:>7}{time.perf_counter() - t:>9.1f}")



def _idp(size, solver):
    from vbfem.anatomy.geometry import build_vertebra
    from vbfem.anatomy.mesher import mesh_vertebra
    from vbfem.fem.cells import cell_volumes
    from vbfem.materials.bone import assign_bone
    from vbfem.mechanics.spinal_unit import assemble_unit, prepare_spine
    from vbfem.mechanics.spine import solve_unit, unit_load_case, unit_response

    mesh = mesh_vertebra(build_vertebra("L4"), size=size)
    bone = assign_bone(mesh, bmd="normal", seed=0)
    variants = {
        "as built (fluid nucleus)": {},
        "fluid, skeleton G 0.005 MPa": {"nucleus_E": 0.01},
        "fluid, skeleton E 1, nu 0": {"nucleus_E": 1.0},
        "fluid, K_f 220 MPa": {"nucleus_bulk": 220.0},
        "fluid, no fibres": {"annulus": {"fibre_fraction": 0.0}},
        "fluid, fibres at 0 deg": {"annulus": {"fibre_angle": 0.0}},
        "solid nucleus nu 0.49": {"nucleus": "solid"},
        "solid nucleus nu 0.499": {"nucleus": "solid", "nucleus_nu": 0.499},
    }
    print(f"intact L4-L5 unit at {size:g} mm, 500 N axial compression")
    print(f"{'disc':<30}{'IDP (MPa)':>10}{'nucleus share of the force':>28}{'seconds':>9}")
    for name, kw in variants.items():
        unit = assemble_unit(prepare_spine(mesh, level="L4", segments=("L4", "L5"), size=size, bmd="normal",
                                           seed=0, **kw), mesh, bone)
        t = time.perf_counter()
        (res,) = solve_unit(unit, unit_load_case(unit, "compression", force=500.0), solver=solver)
        dt = time.perf_counter() - t
        (idp,) = unit_response(unit, res).intradiscal_pressure.values()
        (d,) = unit.discs
        v, szz = cell_volumes(unit.mesh), res.stress[:, 2]
        n, a = (unit.mesh.cell_set(f"{part}_{d}") for part in ("nucleus", "annulus"))
        share = (szz[n] * v[n]).sum() / ((szz[n] * v[n]).sum() + (szz[a] * v[a]).sum())
        print(f"{name:<30}{idp:>10.3f}{share:>28.3f}{dt:>9.1f}", flush=True)


def _cavity(level, size):
    from vbfem.fem.assembly import assemble_stiffness
    from vbfem.fem.cavity import add_cavities
    from vbfem.fem.constraints import constraint_map
    from vbfem.fem.solvers import SolverError, solve_spd
    from vbfem.mechanics.spine import solve_unit, unit_load_case

    warm = _unit(level, 6.0)
    solve_unit(warm, unit_load_case(warm, "compression"))
    unit = _unit(level, size)
    solid = _unit(level, size, nucleus="solid")
    load = unit_load_case(unit, "compression")
    print(f"three-level unit {'-'.join(unit.levels)} at {size:g} mm, {unit.mesh.n_cells} cells, compression 500 N")
    print(f"{'method':<52}{'solver':>8}{'seconds':>9}{'iters':>7}  IDP (MPa)")
    ref = {}
    # SuperLU (vbfem's direct solver) takes minutes on 25 000 dofs already: AMG-CG alone above 30 000 dofs
    methods = ("direct", "amg-cg") if 3 * unit.mesh.n_points <= 30_000 else ("amg-cg",)
    if "direct" not in methods:
        print("  direct solver skipped (more than 30 000 dofs)")
    for method in methods:
        t = time.perf_counter()
        (res,) = solve_unit(unit, load, solver=method)
        dt = time.perf_counter() - t
        ref[method] = [c.pressure(res.displacement) for c in unit.cavities]
        print(f"{'Woodbury (solve_unit: 1 + ' + str(len(unit.cavities)) + ' right-hand sides)':<52}{method:>8}"
              f"{dt:>9.1f}{res.solver.iterations:>7}  {', '.join(f'{p:.4f}' for p in ref[method])}", flush=True)
    t = time.perf_counter()
    K0 = assemble_stiffness(unit.mesh, unit.materials)
    K = add_cavities(K0, unit.cavities)
    cmap = constraint_map(unit.mesh, load)
    Kr, rhs = cmap.reduce(K)
    t_form = time.perf_counter() - t
    print(f"  assembled + rank-one: nnz {K0.nnz} -> {K.nnz} (x{K.nnz / K0.nnz:.2f}), formed and reduced in "
          f"{t_form:.1f} s")
    for method in methods:
        t = time.perf_counter()
        try:
            q, info = solve_spd(Kr, rhs, method=method, near_null=cmap.near_null, maxiter=3000)
        except SolverError as exc:  # CG not converging: reported, not hidden
            print(f"{'assembled matrix with the rank-one terms':<52}{method:>8}{time.perf_counter() - t:>9.1f}"
                  f"{'-':>7}  failed: {type(exc).__name__}: {exc}"[:200], flush=True)
            continue
        u = cmap.expand(q)[:cmap.n_mesh_dofs].reshape(-1, 3)
        p = [c.pressure(u) for c in unit.cavities]
        print(f"{'assembled matrix with the rank-one terms':<52}{method:>8}{time.perf_counter() - t + t_form:>9.1f}"
              f"{info.iterations:>7}  {', '.join(f'{x:.4f}' for x in p)}", flush=True)
    for method in methods:
        t = time.perf_counter()
        (res,) = solve_unit(solid, unit_load_case(solid, "compression"), solver=method)
        print(f"{'solid nucleus (reference, no cavity)':<52}{method:>8}{time.perf_counter() - t:>9.1f}"
              f"{res.solver.iterations:>7}", flush=True)


if __name__ == "__main__":
    main()
