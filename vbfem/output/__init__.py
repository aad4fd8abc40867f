"""Output: files and pictures of a study's states and results.

Takes meshes, material maps, results and tables; writes VTU / XDMF for ParaView, FEBio
``.feb`` and Abaqus/CalculiX ``.inp`` decks (and runs CalculiX for cross-checks), pyvista
pictures, matplotlib plots and the single-file report, every file written atomically.

Modules: ``vtu``, ``feb``, ``inp``, ``ccx``, ``viz`` (pyvista), ``plots`` (matplotlib),
``report`` (Markdown and HTML), ``atomic`` (write-then-rename).
"""

from .feb import to_feb
from .inp import to_inp
from .vtu import read_vtu, to_vtu, to_xdmf

__all__ = ["read_vtu", "to_feb", "to_inp", "to_vtu", "to_xdmf"]
