"""The columns of a study's results table: their units, and the readable summary of the main ones.

``results.csv`` keeps the column names that code reads (``stiffness``, ``anterior_height_mm`` ...);
:func:`column_units` gives the unit of each (written beside it as ``results_units.json``), and
:data:`SUMMARY` the columns a person reads first, with a header and a number format, shared by the
command line's tables and the HTML report.
"""

from __future__ import annotations

#: Units of the columns whose name does not end in a unit (the others follow :data:`SUFFIX_UNITS`).
UNITS = {
    "state": "", "case": "", "case_id": "", "error": "", "bridging": "", "leak": "",
    "stiffness": "N/mm", "strength": "N",
    "stiffness_pct_intact": "%", "strength_pct_intact": "%",
    "stiffness_pct_restored": "%", "strength_pct_restored": "%",
}

#: Unit of a column by the end of its name (``anterior_height_mm`` is in mm).
SUFFIX_UNITS = {"_mm3": "mm3", "_deg": "deg", "_mm": "mm", "_ml": "mL", "_pct": "%", "_N": "N", "_kPa": "kPa", "_MPa": "MPa", "_s": "s"}

#: Columns of the readable summary table: (row key, header with unit, format).
SUMMARY = (
    ("state", "state", "{}"),
    ("stiffness", "stiffness N/mm", "{:.0f}"),
    ("strength", "strength N", "{:.0f}"),
    ("stiffness_pct_intact", "stiff. % intact", "{:.0f}"),
    ("stiffness_pct_restored", "stiff. % restored", "{:.0f}"),
    ("strength_pct_restored", "str. % restored", "{:.0f}"),
    ("anterior_height_mm", "ant. height mm", "{:.1f}"),
    ("height_restored_pct", "height % restored", "{:.0f}"),
    ("fill_pct", "fill % body", "{:.1f}"),
    ("bridging", "bridging", "{}"),
    ("leaked_ml", "leaked mL", "{:.2f}"),
)


def summary_columns(strength: str) -> tuple:
    """:data:`SUMMARY` with the strength columns named for how strength was computed.

    Parameters
    ----------
    strength : {"nonlinear", "linear", "none"}
        The study's ``load.strength``. The linear estimate is a screen (Pistoia 2002), never to be read
        as the nonlinear peak force: its columns are renamed; with "none" they are left out.

    Returns
    -------
    tuple of (key, header, format)
    """
    if strength not in ("nonlinear", "linear", "none"):
        raise ValueError(f"strength = {strength!r}: must be 'nonlinear', 'linear' or 'none'")
    if strength == "nonlinear":
        return SUMMARY
    names = {"strength": "lin. screen N", "strength_pct_restored": "screen % restored"}
    return tuple((k, names.get(k, h), f) for k, h, f in SUMMARY if strength == "linear" or k not in names)


def column_unit(name: str) -> str:
    """Unit of the results column ``name`` ("" for text, flags and counts).

    A study key of a sweep (``"treatments[0].volume"``, ``"bone.bmd"``) takes the unit its schema
    declares (:mod:`vbfem.study.schema`).

    Examples
    --------
    >>> column_unit("stiffness"), column_unit("anterior_height_mm"), column_unit("treatments[0].volume")
    ('N/mm', 'mm', 'mL')
    """
    if name in UNITS:
        return UNITS[name]
    for suffix, unit in SUFFIX_UNITS.items():
        if name.endswith(suffix):
            return unit
    return _schema_unit(name)


def column_units(columns) -> dict:
    """``{column: unit}`` of the results columns ``columns``, in their order (see :func:`column_unit`)."""
    return {c: column_unit(c) for c in columns}


def _schema_unit(path: str) -> str:
    """Unit declared by the study schema for the key path ``path`` ("" when it declares none)."""
    import dataclasses
    import re

    from . import schema

    m = re.match(r"^(?P<section>[a-z_]+)(\[\d+\])?\.(?P<key>[a-z_]+)$", path)
    sections = {**schema._SECTIONS, "treatments": schema.TreatmentSpec, "spine": schema.SpineSpec}
    if m is None or m["section"] not in sections:
        return ""
    fields = {f.name: f for f in dataclasses.fields(sections[m["section"]])}
    f = fields.get(m["key"])
    if f is None:
        return ""
    if path == "bone.bmd":
        return "g/cm3"  # a number is a density; a word a bone-quality level
    return f.metadata.get("unit", "")
