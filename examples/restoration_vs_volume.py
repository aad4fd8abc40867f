"""Stiffness restored against cement volume, from the table of a sweep (examples/volume_sweep.toml).

    vbfem sweep examples/volume_sweep.toml
    python examples/restoration_vs_volume.py examples/volume_sweep-out/results.csv

The plot is written beside the table (``examples/volume_sweep-out/restoration_vs_volume.png``).
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path


def restoration(rows):
    """``{state: [(volume mL, stiffness % restored)]}`` of the treated states of a sweep table."""
    out = defaultdict(list)
    for r in rows:
        if r.get("cement_ml") and r.get("stiffness_pct_restored"):
            out[r["state"]].append((float(r["cement_ml"]), float(r["stiffness_pct_restored"])))
    return {k: sorted(v) for k, v in out.items()}


def visualize(curves, path):
    """Write the curves of :func:`restoration` as a PNG at ``path``; returns the path."""
    from vbfem.output.plots import plot_restoration

    volume = [v for pts in curves.values() for v, _ in pts]
    restored = [r for pts in curves.values() for _, r in pts]
    groups = [state for state, pts in curves.items() for _ in pts]
    return plot_restoration(volume, restored, path, groups=groups)


def main(argv):
    """Read the sweep table ``argv[0]`` (default examples/volume_sweep-out/results.csv), print the
    restoration per state and write the plot beside the table; returns the plot's path."""
    table = Path(argv[0] if argv else "examples/volume_sweep-out/results.csv")
    with open(table) as fh:
        curves = restoration(list(csv.DictReader(fh)))
    for state, pts in curves.items():
        print(state, ", ".join(f"{v:g} mL: {r:.0f} %" for v, r in pts))
    path = visualize(curves, table.with_name("restoration_vs_volume.png"))
    print("wrote", path)
    return path


if __name__ == "__main__":
    main(sys.argv[1:])
