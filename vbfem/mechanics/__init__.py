"""Mechanics: the tests a body is put through and what they measure.

Takes a mesh and material map per state (intact, fractured, treated); builds the load
cases of the literature (the ex vivo compression test, flexion, extension, lateral
bending, through potting or discs) and returns stiffness, strength (linear screen or the
elastic–plastic curve), endplate pressure and load shares, and the comparison table of
the states.

Modules: ``loadcases``, ``response`` (stiffness, linear strength, load share),
``failure`` (the load–displacement curve of a body), ``compare`` (the states side by side).
"""

from .compare import compare_states
from .failure import load_displacement
from .loadcases import compression_test, make_load_case, physiological
from .response import linear_strength, stiffness

__all__ = ["compare_states", "compression_test", "linear_strength", "load_displacement", "make_load_case",
           "physiological", "stiffness"]
