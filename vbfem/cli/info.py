"""Print the versions of vbfem and its dependencies, and the numba thread count.

Example:
    vbfem info
"""

from __future__ import annotations

HELP = "versions and machine facts"


def add_args(parser):
    pass


def run(args) -> int:
    import importlib.metadata as md
    import shutil

    import numba

    for pkg in ("vbfem", "numpy", "scipy", "numba", "pyamg", "meshio", "pyvista"):
        try:
            print(f"{pkg:10s} {md.version(pkg)}")
        except md.PackageNotFoundError:
            print(f"{pkg:10s} not installed")
    print(f"{'threads':10s} {numba.get_num_threads()}")
    print(f"{'ccx':10s} {shutil.which('ccx') or 'not found (apt-get install calculix-ccx)'}")
    return 0
