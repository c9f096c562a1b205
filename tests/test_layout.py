"""The package's layers: each folder imports only from the layers below it.

    cli  ->  runtime  ->  reporting  ->  processing  ->  intake  ->  taggers | metadata | store
                                                                  ->  top-level modules

The top-level modules (errors, domain, states, config, paths, keywords) import nothing of the
subpackages. ``taggers``, ``metadata`` and ``store`` are peers that never import each other.
Imports under ``TYPE_CHECKING`` count too: a circle held only by them is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "daemon" / "phototag"

RANK = {
    "": 0,  # top-level modules
    "store": 1,
    "metadata": 1,
    "taggers": 1,
    "intake": 2,
    "processing": 3,
    "reporting": 4,
    "runtime": 5,
    "cli": 6,
}


def _layer(module: str) -> str:
    """``phototag.intake.watch`` -> ``intake``; ``phototag.errors`` -> ``""`` (top level)."""
    name = module.split(".")[1]
    return name if name in RANK else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("phototag."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, a.name) for a in node.names if a.name.startswith("phototag.")
            )
    return found


def _module_layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else ""


def test_every_folder_is_a_known_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders == set(RANK) - {""}


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = _module_layer(path)
        for line, module in _imports(path):
            target = _layer(module)
            if target == layer:
                continue
            if RANK[target] >= RANK[layer]:
                wrong.append(
                    f"{path.relative_to(PACKAGE)}:{line} ({layer or 'top'}) imports {module}"
                )
    assert not wrong, "\n".join(wrong)


def test_each_package_states_its_job_and_what_it_may_import() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init.relative_to(PACKAGE)} has no docstring"
        if init.parent.parent == PACKAGE:  # a layer's own folder
            assert "May import" in doc, (
                f"{init.relative_to(PACKAGE)} does not say what it may import"
            )


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    """The walk would catch store importing runtime (so the test above can fail)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from phototag.runtime.daemon import Daemon\n")
    ((_line, module),) = _imports(bad)
    assert RANK[_layer(module)] > RANK["store"]


def test_only_phototagd_imports_the_daemon() -> None:
    """The daemon's controllers (the control verbs, systemd) see it through ``Controls``;
    only the command that runs it builds one."""
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(module == "phototag.runtime.daemon" for _line, module in _imports(path))
    )
    assert importers == ["cli/phototagd.py"]
