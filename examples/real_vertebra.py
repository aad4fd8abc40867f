"""A real vertebra through the whole pipeline: the L3 surface of the lumbar shape model
(../shared/data/lumbar_ssm/L3.stl, Clouthier 2023), intact, grade-2 wedge, VP and KP.

    python examples/real_vertebra.py [path/to/L3.stl] [mesh size mm]
"""

import sys
from pathlib import Path

from vbfem.output.report import markdown_table
from vbfem.study.pipeline import run_study, table_columns
from vbfem.study.schema import Study

#: Where the project's shared data lives beside the repository (read there, never copied).
L3 = Path(__file__).resolve().parents[2] / "shared" / "data" / "lumbar_ssm" / "L3.stl"


def study(surface=L3, *, size=2.0):
    """The default VP vs KP study on the body fitted to a real surface."""
    return Study(name="real_L3", geometry={"surface": str(surface), "level": "L3"}, mesh={"size": size},
                 output={"folder": "real_L3-out"})


def main(surface=L3, *, size=2.0, out=None):
    return run_study(study(surface, size=size), out=out)


if __name__ == "__main__":
    surface = Path(sys.argv[1]) if len(sys.argv) > 1 else L3
    size = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    result = main(surface, size=size, out="real_L3-out")
    print(markdown_table(list(result.rows), columns=table_columns(result.rows)))
