"""Reports as one self-contained HTML file (images embedded) and as Markdown.

A :class:`Report` is a list of blocks (headings, paragraphs, tables, images)
built by the study runner or by ``vbfem validate``; :meth:`Report.to_html`
writes a single file that opens anywhere (pictures inlined as base64 PNG) and
:meth:`Report.to_markdown` writes text with images linked beside it. Both are
written atomically.
"""

from __future__ import annotations

import base64
import html
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.45}
h1{font-size:1.6rem;border-bottom:2px solid #444}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #bbb}
table{border-collapse:collapse;margin:0.8rem 0;font-size:0.9rem}th,td{border:1px solid #ccc;padding:0.25rem 0.6rem;
text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:0.85rem;color:#555}
pre{background:#f7f7f7;border:1px solid #ddd;padding:0.6rem;font-size:0.85rem;overflow-x:auto}
caption{caption-side:bottom;text-align:left;font-size:0.85rem;color:#555;padding-top:0.3rem}
.note{color:#555;font-size:0.9rem}.bad{color:#a00;font-weight:600}.good{color:#070}
td.limited{background:#fff6e0}td sup{color:#a05a00;font-weight:600;margin-left:0.1rem}
ol.limits{font-size:0.85rem;color:#444;margin:0.2rem 0 1rem;padding-left:1.6rem}
"""


def format_value(value, digits: int = 4) -> str:
    """A table cell: floats to ``digits`` significant digits, None/NaN as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}g}"
    return str(value)


def _cell(value, fmt: str | None) -> str:
    """A table cell as text: numbers with ``fmt`` when given, everything else by :func:`format_value`."""
    if fmt is not None and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return fmt.format(value)
    return format_value(value)


@dataclass
class Report:
    """An ordered list of blocks; add with the ``add_*`` methods, then write.

    Parameters
    ----------
    title : str
    """

    title: str
    blocks: list = field(default_factory=list)

    def add_heading(self, text: str) -> Report:
        self.blocks.append(("h2", text))
        return self

    def add_text(self, text: str, *, note: bool = False) -> Report:
        self.blocks.append(("note" if note else "p", text))
        return self

    def add_table(self, rows: list[dict], *, columns: list[str] | None = None, caption: str = "",
                  headers: dict | None = None, formats: dict | None = None, marks: dict | None = None,
                  footnotes: dict | None = None) -> Report:
        """A table of dict rows, optionally with footnotes on single cells.

        Parameters
        ----------
        rows : list of dict
        columns : list of str, optional, keyword-only
            Keys to show, in order (default: all keys in first-seen order).
        caption : str, keyword-only
        headers : dict, optional, keyword-only
            Header text of a column (with its unit, e.g. ``{"stiffness": "stiffness N/mm"}``); default the key.
        formats : dict, optional, keyword-only
            ``str.format`` pattern of a column's numbers (``{"stiffness": "{:.0f}"}``); default
            :func:`format_value` (4 significant digits). Text, flags and NaN are shown as by :func:`format_value`.
        marks : dict, optional, keyword-only
            ``(row index, column key) -> footnote key or sequence of keys``: the cells a footnote belongs to.
            Marks on a column not shown are ignored.
        footnotes : dict, optional, keyword-only
            ``footnote key -> text``. The footnotes that mark a shown cell are numbered in the order of
            their first mark (row by row), the number set after the cell's value, and listed under the
            table (HTML: ``<sup>`` in the cell, its text also as the cell's tooltip).

        Raises
        ------
        KeyError
            A mark names a footnote key that ``footnotes`` lacks.
        """
        cols = columns or list(dict.fromkeys(k for r in rows for k in r))
        head = {c: (headers or {}).get(c, c) for c in cols}
        fmts = dict(formats or {})
        cells = [{c: _cell(r.get(c), fmts.get(c)) for c in cols} for r in rows]
        notes = dict(footnotes or {})
        numbers: dict = {}
        cell_marks = [{} for _ in rows]
        for (i, c), keys in sorted((marks or {}).items(), key=lambda kv: (kv[0][0], cols.index(kv[0][1])
                                                                           if kv[0][1] in cols else len(cols))):
            if c not in cols:
                continue
            for key in [keys] if isinstance(keys, str) else list(keys):
                if key not in notes:
                    raise KeyError(f"mark on row {i}, column {c!r} names footnote {key!r}, which footnotes "
                                   f"lacks (it has {sorted(notes)})")
                n = numbers.setdefault(key, len(numbers) + 1)
                cell_marks[i].setdefault(head[c], []).append(n)
        cell_marks = [{c: sorted(set(n)) for c, n in m.items()} for m in cell_marks]
        listed = [notes[k] for k in sorted(numbers, key=numbers.get)]
        self.blocks.append(("table", [head[c] for c in cols], [{head[c]: v[c] for c in cols} for v in cells], caption,
                            cell_marks, listed))
        return self

    def add_code(self, text: str, *, caption: str = "") -> Report:
        """Preformatted text (a TOML study, a JSON record), shown as it is, in a fixed-width font."""
        self.blocks.append(("code", text, caption))
        return self

    def add_image(self, path, caption: str = "") -> Report:
        self.blocks.append(("image", Path(path), caption))
        return self

    # ----------------------------------------------------------- writers

    def to_html(self, path) -> Path:
        """Write one self-contained HTML file (images inlined); returns its path."""
        e = html.escape
        parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(self.title)}</title>",
                 f"<style>{_CSS}</style></head><body><h1>{e(self.title)}</h1>"]
        for block in self.blocks:
            kind = block[0]
            if kind == "h2":
                parts.append(f"<h2>{e(block[1])}</h2>")
            elif kind in ("p", "note"):
                cls = " class='note'" if kind == "note" else ""
                parts.append(f"<p{cls}>{e(block[1])}</p>")
            elif kind == "table":
                _, cols, rows, caption, marks, notes = block
                head = "".join(f"<th>{e(c)}</th>" for c in cols)
                body = "".join("<tr>" + "".join(_html_cell(r.get(c), m.get(c), notes) for c in cols) + "</tr>"
                               for r, m in zip(rows, marks))
                cap = f"<caption>{e(caption)}</caption>" if caption else ""
                parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
                if notes:
                    items = "".join(f"<li>{e(n)}</li>" for n in notes)
                    parts.append(f"<ol class='limits'>{items}</ol>")
            elif kind == "code":
                _, text, caption = block
                cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
                parts.append(f"<figure><pre>{e(text)}</pre>{cap}</figure>")
            elif kind == "image":
                _, img, caption = block
                data = base64.b64encode(img.read_bytes()).decode()
                parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{e(caption or img.name)}'>"
                             f"<figcaption>{e(caption)}</figcaption></figure>")
        parts.append("</body></html>")
        return write_text(Path(path), "\n".join(parts))

    def to_markdown(self, path) -> Path:
        """Write Markdown; images are linked relative to the file's folder."""
        path = Path(path)
        lines = [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "h2":
                lines += [f"## {block[1]}", ""]
            elif kind == "p":
                lines += [block[1], ""]
            elif kind == "note":
                lines += [f"*{block[1]}*", ""]
            elif kind == "table":
                _, cols, rows, caption, marks, notes = block
                if caption:
                    lines += [caption, ""]
                lines.append("| " + " | ".join(cols) + " |")
                lines.append("|" + "|".join("---" for _ in cols) + "|")
                lines += ["| " + " | ".join((format_value(r.get(c)) + "".join(f" [{n}]" for n in m.get(c, ())))
                                            .replace("|", "\\|") for c in cols) + " |"
                          for r, m in zip(rows, marks)]
                lines.append("")
                lines += [f"[{k}] {n}" + ("  " if k < len(notes) else "") for k, n in enumerate(notes, 1)]
                lines += [""] if notes else []
            elif kind == "code":
                _, text, caption = block
                lines += ["```", text.rstrip("\n"), "```", ""] + ([f"*{caption}*", ""] if caption else [])
            elif kind == "image":
                _, img, caption = block
                rel = os.path.relpath(img, path.parent)
                lines += [f"![{caption or img.name}]({rel})", ""]
        return write_text(path, "\n".join(lines))


def _html_cell(value, numbers, notes) -> str:
    """A ``<td>``: the value, then its footnote numbers as superscripts and their texts as its tooltip."""
    e = html.escape
    text = e(format_value(value))
    if not numbers:
        return f"<td>{text}</td>"
    tip = " ".join(f"[{n}] {notes[n - 1]}" for n in numbers)
    sup = ",".join(str(n) for n in numbers)
    return f"<td class='limited' title='{e(tip)}'>{text}<sup>{sup}</sup></td>"


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows as a Markdown table (for the CLI and notes)."""
    cols = columns or list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    out += ["| " + " | ".join(format_value(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(out)
