"""Reference images of the pictures and plots: one comparison for every test in tests/output.

The test modules use one :class:`ImageCheck` from here (``from _images import ImageCheck``); it is not
a conftest.py, which would shadow tests/conftest.py for the ``from conftest import ...`` of other tests.

The references live in tests/data/images/ (the demo's pictures, on a coarse study, in
tests/data/images/demo/). Regenerate them after an intended change of a picture with

    VBFEM_UPDATE_IMAGES=1 python -m pytest tests/output

then look at every changed PNG (``git status tests/data/images``) before committing it.

Two measures of the difference (grey levels 0-255, averaged over RGB), as pyvista's image tests do
with ``pyvista.compare_images`` but local as well as global:

- the mean over the whole picture (:data:`MEAN_TOL`): a wrong view, colour map or blank panel;
- the largest mean over a square tile of :data:`TILE` pixels (:data:`TILE_TOL`): a change confined
  to a small area that the whole-picture mean dilutes, e.g. a tick label with an offset
  ("1e-12+1.405") or a missing 2-pixel curve, which change a tile by 25 grey levels and more.

Renders on the machine that made the references are pixel-identical (both measures 0). Other Mesa,
VTK, FreeType or matplotlib builds rasterise edges and text slightly differently; how much was not
measured (one machine was available): raise the tolerances here, not per test, if they must move.
"""

import os
from pathlib import Path

import numpy as np

IMAGES = Path(__file__).parents[1] / "data" / "images"
#: Largest mean difference over the whole picture, grey levels.
MEAN_TOL = 3.0
#: Side of the square tiles of the local measure, pixels.
TILE = 16
#: Largest mean difference within one tile, grey levels.
TILE_TOL = 20.0


def read_image(path) -> np.ndarray:
    """An RGB picture as a float array (rows, columns, 3), grey levels 0-255."""
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=float)


def image_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean absolute difference of two pictures of one size over the whole picture and over its worst
    :data:`TILE` x :data:`TILE` tile (edge tiles padded with zero difference), grey levels."""
    if a.shape != b.shape:
        raise ValueError(f"picture sizes differ: {a.shape} and {b.shape}")
    d = np.abs(a - b).mean(axis=2)
    rows, cols = -(-d.shape[0] // TILE), -(-d.shape[1] // TILE)
    padded = np.zeros((rows * TILE, cols * TILE))
    padded[: d.shape[0], : d.shape[1]] = d
    tiles = padded.reshape(rows, TILE, cols, TILE).mean(axis=(1, 3))
    return float(d.mean()), float(tiles.max())


def assert_not_blank(img: np.ndarray) -> None:
    non_white = np.any(img < 245, axis=2).mean()
    assert non_white > 0.03, f"only {non_white:.1%} of the pixels are not background"
    assert img.std() > 10, "the picture is nearly uniform"


class ImageCheck:
    """``check_image(path, name)``: compare a written PNG with tests/data/images/<name>."""

    folder = IMAGES
    mean_tol, tile_tol = MEAN_TOL, TILE_TOL
    read = staticmethod(read_image)
    difference = staticmethod(image_difference)
    assert_not_blank = staticmethod(assert_not_blank)

    def __call__(self, path, name: str) -> tuple[float, float]:
        img = read_image(path)
        assert_not_blank(img)
        ref = IMAGES / name
        if os.environ.get("VBFEM_UPDATE_IMAGES") == "1":
            ref.parent.mkdir(parents=True, exist_ok=True)
            ref.write_bytes(Path(path).read_bytes())
        assert ref.is_file(), f"reference image {ref} missing; create it with VBFEM_UPDATE_IMAGES=1"
        expected = read_image(ref)
        assert img.shape == expected.shape, f"{name}: size {img.shape} differs from the reference {expected.shape}"
        mean, tile = image_difference(img, expected)
        assert mean < MEAN_TOL, f"{name}: mean pixel difference {mean:.2f} >= {MEAN_TOL}"
        assert tile < TILE_TOL, f"{name}: a {TILE}-pixel tile differs by {tile:.1f} >= {TILE_TOL} grey levels"
        return mean, tile

