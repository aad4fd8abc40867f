"""A labelled CT made from the real L3 surface, shared by the image-route tests (``from _l3_ct import ...``)."""

import numpy as np
from conftest import SHARED_L3 as L3  # the real L3 surface; the tests skip without it

from vbfem.anatomy.image import volume_from_array


def l3_ct(h: float = 2.0):
    """The L3 surface voxelised at ``h`` mm as a calibrated CT (mg/cm³: a 400 cortex-like rim, an 80
    osteoporotic core, 10 outside) labelled body (1) in front of the surface route's pedicle cut and
    posterior (2) behind it. Returns the volume and that cut's x (mm)."""
    from scipy import ndimage

    from vbfem.anatomy.surface import fit_surface, read_surface, voxelize_surface

    fit = fit_surface(L3, spacing=h)
    points, tris = read_surface(L3)
    inside, lo = voxelize_surface(points, tris, spacing=h)
    xc = lo[0] + (np.arange(inside.shape[0]) + 0.5) * h
    labels = np.where(inside, np.where(xc[:, None, None] >= fit.cut_x, 1, 2), 0)
    shell = inside & ~ndimage.binary_erosion(inside)
    mg = np.where(shell, 400.0, np.where(inside, 80.0, 10.0))
    return volume_from_array(mg, spacing=h, labels=labels), fit.cut_x
