"""File formats: VTU and XDMF (ParaView) through meshio; Abaqus/CalculiX ``.inp``; FEBio ``.feb``."""
