"""The synthetic calibrated CT of ``examples/ct_vertebra``, shared by the image-route tests
(``from _ct_example import EXAMPLE, example``)."""

import importlib.util
from pathlib import Path

#: The example's folder (study files and ``synthetic_ct.py``).
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ct_vertebra"


def example():
    """The example's ``synthetic_ct`` module (``write_ct``, ``synthetic_ct``, ``nifti_affine``)."""
    spec = importlib.util.spec_from_file_location("synthetic_ct", EXAMPLE / "synthetic_ct.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
