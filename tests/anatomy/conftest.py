"""Fixtures of the image-route tests."""

import pytest
from _ct_example import example


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    """A folder holding the example's synthetic CT at 3 mm (scan, labels, phantom fit)."""
    pytest.importorskip("nibabel")
    d = tmp_path_factory.mktemp("ct")
    example().write_ct(d, spacing=3.0, noise_hu=10.0)
    return d
