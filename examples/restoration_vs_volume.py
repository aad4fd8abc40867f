"""Stiffness restored against cement volume, from the table of a sweep (examples/volume_sweep.toml).

    vbfem sweep examples/volume_sweep.toml
    python examples/restoration_vs_volume.py examples/volume_sweep-out/results.csv
"""

import csv
import sys
from collections import defaultdict


def restoration(rows):
    """``{state: [(volume mL, stiffness % restored)]}`` of the treated states of a sweep table."""
    out = defaultdict(list)
    for r in rows:
        if r.get("cement_ml") and r.get("stiffness_pct_restored"):
            out[r["state"]].append((float(r["cement_ml"]), float(r["stiffness_pct_restored"])))
    return {k: sorted(v) for k, v in out.items()}


def visualize(curves, path="restoration_vs_volume.png"):
    from vbfem.output.plots import plot_restoration

    volume = [v for pts in curves.values() for v, _ in pts]
    restored = [r for pts in curves.values() for _, r in pts]
    groups = [state for state, pts in curves.items() for _ in pts]
    return plot_restoration(volume, restored, path, groups=groups)


if __name__ == "__main__":
    with open(sys.argv[1] if len(sys.argv) > 1 else "examples/volume_sweep-out/results.csv") as fh:
        curves = restoration(list(csv.DictReader(fh)))
    for state, pts in curves.items():
        print(state, ", ".join(f"{v:g} mL: {r:.0f} %" for v, r in pts))
    print("wrote", visualize(curves))
