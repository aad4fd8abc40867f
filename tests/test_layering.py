"""The layering rule of ``vbfem/__init__.py``, read from the source's imports (ast)."""

import ast
import shutil
from pathlib import Path

import pytest

import vbfem

PACKAGE = Path(vbfem.__file__).parent

#: The layers in pipeline order; a stage may import the layers before it (see the rule below).
ORDER = ("records", "fem", "anatomy", "materials", "fracture", "treatment", "mechanics", "output", "study", "plan", "cli")


def allowed(src: str, dst: str) -> bool:
    """Whether layer ``src`` may import layer ``dst`` (``"root"`` is the package's ``__init__``)."""
    if src == dst or src == "root":
        return True
    if dst == "root":  # the public face (and __version__): only the top layers read it
        return src in ("study", "plan", "cli")
    if src == "records":
        return False
    if src == "fem":
        return dst == "records"
    if src == "output":
        return ORDER.index(dst) <= ORDER.index("mechanics")
    if src == "study":
        return dst != "cli"
    if src == "cli":
        return True
    return ORDER.index(dst) < ORDER.index(src)


def _layer(parts: tuple) -> str:
    """Layer of the module ``vbfem.<parts>``."""
    if not parts or parts[0] == "__init__":
        return "root"
    return parts[0]


def layering_violations(package: Path) -> list[str]:
    """Every import in ``package`` (a copy of vbfem's source tree) that breaks the rule, as
    ``"<file>:<line>: <layer> imports <layer> (<module>)"``."""
    out = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).with_suffix("").parts
        src = _layer(rel)
        pkg = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                    mod = base + tuple((node.module or "").split(".")) if node.module else base
                    if not node.module:  # from . import a, b: the names may be modules
                        targets = [mod + (a.name,) for a in node.names]
                    else:
                        targets = [mod]
                elif node.module and node.module.split(".")[0] == "vbfem":
                    targets = [tuple(node.module.split(".")[1:])]
            elif isinstance(node, ast.Import):
                targets = [tuple(a.name.split(".")[1:]) for a in node.names if a.name.split(".")[0] == "vbfem"]
            for t in targets:
                dst = _layer(t) if (package / Path(*t[:1])).exists() or (package / f"{t[0]}.py").exists() else "root"
                if not allowed(src, dst):
                    where = path.relative_to(package.parent)
                    out.append(f"{where}:{node.lineno}: {src} imports {dst} (vbfem.{'.'.join(t)})")
    return out


def test_every_module_is_in_a_layer():
    layers = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")}
    layers |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert layers == set(ORDER)


def test_the_package_keeps_its_layering():
    assert layering_violations(PACKAGE) == []


@pytest.mark.parametrize(("module", "line", "message"), [
    ("fem/elements.py", "from ..anatomy.geometry import build_vertebra\n", "fem imports anatomy"),
    ("fem/static.py", "    from vbfem.materials.bone import assign_bone\n", "fem imports materials"),
    ("materials/cement.py", "from ..treatment.flow import run_impes\n", "materials imports treatment"),
    ("anatomy/mesher.py", "from .. import run_study\n", "anatomy imports root"),
    ("output/viz.py", "from ..study.pipeline import run_study\n", "output imports study"),
    ("records/mesh.py", "from ..fem.elements import isotropic_D\n", "records imports fem"),
    ("study/pipeline.py", "from ..cli import main\n", "study imports cli"),
])
def test_a_forbidden_import_is_named(tmp_path, module, line, message):
    copy = tmp_path / "vbfem"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    text = target.read_text()
    if line.startswith("    "):  # inside a function, as the lazy imports are
        text += "\n\ndef _added():\n" + line
    else:
        text += "\n" + line
    target.write_text(text)
    found = layering_violations(copy)
    assert len(found) == 1 and message in found[0] and found[0].startswith(f"vbfem/{module}:"), found
