"""Reports: one self-contained HTML file, Markdown with linked images."""

import base64
import math

from vbfem.output.report import Report, format_value, markdown_table

# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_html_is_self_contained_and_escaped(tmp_path):
    img = tmp_path / "a.png"
    img.write_bytes(PNG)
    rep = Report("Study <x>").add_heading("States").add_table(
        [{"state": "intact", "stiffness": 14604.123, "bridging": True}, {"state": "VP", "stiffness": float("nan")}],
        caption="stiffness in N/mm",
    ).add_image(img, "cement").add_text("a & b", note=True)
    path = rep.to_html(tmp_path / "out" / "report.html")
    text = path.read_text()
    assert "Study &lt;x&gt;" in text and "a &amp; b" in text
    assert "data:image/png;base64," + base64.b64encode(PNG).decode() in text
    assert "<td>1.46e+04</td>" in text and "<td>yes</td>" in text and "<td>–</td>" in text
    assert not list((tmp_path / "out").glob("*.part"))


def test_markdown_links_images_relative(tmp_path):
    (tmp_path / "img").mkdir()
    img = tmp_path / "img" / "b.png"
    img.write_bytes(PNG)
    md = Report("R").add_table([{"a": 1, "b": "x|y"}]).add_image(img, "pic").to_markdown(tmp_path / "r.md").read_text()
    assert "| a | b |" in md and "x\\|y" in md and "![pic](img/b.png)" in md


def test_format_value():
    assert format_value(None) == "–" and format_value(math.nan) == "–"
    assert format_value(0.123456) == "0.1235" and format_value(3) == "3" and format_value(False) == "no"
    assert markdown_table([{"k": 1.0}]).splitlines()[2] == "| 1 |"


def test_table_headers_formats_and_code_blocks(tmp_path):
    """Columns with their units and formats, and preformatted text (a TOML study), in HTML and Markdown."""
    rows = [{"state": "intact", "stiffness": 15060.53950640438, "bridging": None},
            {"state": "VP", "stiffness": 14709.2, "bridging": False}]
    rep = Report("r").add_table(rows, columns=["state", "stiffness", "bridging"],
                                headers={"stiffness": "stiffness N/mm"}, formats={"stiffness": "{:.0f}"},
                                caption="units in the headers")
    rep.add_code('name = "demo"\n[mesh]\nsize = 2.0\n', caption="study.toml")
    html = rep.to_html(tmp_path / "r.html").read_text()
    assert "<th>stiffness N/mm</th>" in html and "<td>15061</td>" in html and "<td>14709</td>" in html
    assert "<td>–</td>" in html and "<td>no</td>" in html and "<caption>units in the headers</caption>" in html
    assert "<pre>name = &quot;demo&quot;\n[mesh]\nsize = 2.0\n</pre>" in html
    md = rep.to_markdown(tmp_path / "r.md").read_text()
    assert "| state | stiffness N/mm | bridging |" in md and "| intact | 15061 | – |" in md
    assert '```\nname = "demo"\n[mesh]\nsize = 2.0\n```' in md


def test_footnotes_mark_the_cells_they_qualify(tmp_path):
    """A footnote's number follows the value of each cell it marks (HTML and Markdown), numbered in the order
    of first use, its text listed once under the table and set as the cells' tooltip; marks on a column not
    shown are dropped and an unknown footnote key is an error."""
    import pytest

    rows = [{"state": "intact", "stiffness": 15000.0, "height": 1.0},
            {"state": "VP", "stiffness": 14000.0, "height": 6.0}]
    notes = {"creep": "no creep recovery", "modulus": "cement modulus <sensitive>", "unused": "never shown"}
    marks = {(1, "height"): ["creep", "modulus", "creep"], (1, "stiffness"): "modulus", (0, "hidden"): "unused"}
    rep = Report("r").add_table(rows, columns=["state", "stiffness", "height"], formats={"stiffness": "{:.0f}"},
                                marks=marks, footnotes=notes)
    html = rep.to_html(tmp_path / "r.html").read_text()
    assert "<td>15000</td>" in html and "<td>1</td>" in html
    assert "title='[1] cement modulus &lt;sensitive&gt;'>14000<sup>1</sup></td>" in html
    # a cell's numbers ascending, each once
    assert "title='[1] cement modulus &lt;sensitive&gt; [2] no creep recovery'>6<sup>1,2</sup></td>" in html
    assert "<ol class='limits'><li>cement modulus &lt;sensitive&gt;</li><li>no creep recovery</li></ol>" in html
    assert "never shown" not in html
    md = rep.to_markdown(tmp_path / "r.md").read_text()
    assert "| VP | 14000 [1] | 6 [1] [2] |" in md and "[1] cement modulus <sensitive>" in md
    with pytest.raises(KeyError, match="footnote 'typo'"):
        Report("r").add_table(rows, marks={(0, "state"): "typo"}, footnotes=notes)
