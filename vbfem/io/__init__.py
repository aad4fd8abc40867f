"""File formats: VTU (ParaView) through meshio; Abaqus/CalculiX ``.inp``."""
