"""Each worker service imports its own package, the cores they share and shared/, never another worker
service's modules; shared/ imports no services/ code at all.

Every module is parsed (not imported), so an import inside a function counts like one at the top, and a
failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "services"
# What every worker service may import from services/ besides its own package: the painting cores
# (placement, cut-out, skin, planning) and the job-with-several-people store the three task layers read.
COMMON = ("services.painting", "services.people_io")
WORKERS = sorted(
    path.name
    for path in SERVICES.iterdir()
    if (path / "__init__.py").exists() and f"services.{path.name}" not in COMMON
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, name: str | None = None) -> list[tuple[int, str]]:
    """(line, module) for every import in the file (module `name`, by default its place under the root), at
    any depth; `from a import b` gives a.b as well as a, so `from services import stylizer` counts as
    importing services.stylizer."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's own package up
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def offending(path: Path, packages: list[str], name: str | None = None) -> list[str]:
    """'file:line imports module' for the imports of `path` within any of `packages`, one per import
    statement (the module, not each name taken from it)."""
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    by_line: dict[int, str] = {}
    for line, module in imported_modules(path, name):
        inside = any(_within(module, package) for package in packages)
        if inside and (line not in by_line or len(module) < len(by_line[line])):
            by_line[line] = module
    return [f"{shown}:{line} imports {module}" for line, module in sorted(by_line.items())]


def file_crossings(path: Path, worker: str, name: str | None = None) -> list[str]:
    """'file:line imports module' for each import of another worker service's module in a file of `worker`."""
    return offending(path, [f"services.{other}" for other in WORKERS if other != worker], name)


def crossings(worker: str) -> list[str]:
    """Every import of another worker service's module by `worker`'s package."""
    return sorted({bad for path in (SERVICES / worker).rglob("*.py") for bad in file_crossings(path, worker)})


def test_the_worker_services_are_found() -> None:
    assert {"segmenter", "stylizer", "compositor"} <= set(WORKERS)
    assert "painting" not in WORKERS


@pytest.mark.parametrize("worker", WORKERS)
def test_a_worker_service_imports_no_other_worker_service(worker: str) -> None:
    found = crossings(worker)
    assert not found, f"services/{worker} imports another worker service's code:\n" + "\n".join(found)


def test_the_common_cores_import_no_worker_service() -> None:
    """Else a worker service would reach another through them (services/painting once imported the
    compositor's placement)."""
    workers = [f"services.{name}" for name in WORKERS]
    files = [*sorted((SERVICES / "painting").rglob("*.py")), SERVICES / "people_io.py"]
    found = [bad for path in files for bad in offending(path, workers)]
    assert not found, "a common core imports a worker service:\n" + "\n".join(found)


def test_shared_imports_no_services_code() -> None:
    found = [bad for path in sorted((ROOT / "shared").rglob("*.py")) for bad in offending(path, ["services"])]
    assert not found, "shared/ is below services/ and must not import them:\n" + "\n".join(found)


def test_function_level_and_relative_imports_are_seen(tmp_path: Path) -> None:
    """The checker itself: an import inside a function and a relative one are found and resolved."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import numpy\nfrom services.painting import skin\nfrom . import matting\n\n"
        "def f():\n    from services.compositor.blend import composite\n\n"
        "def g():\n    from ..stylizer import colour\n\n"
        "def h():\n    from services import compositor, painting\n"
    )
    assert file_crossings(probe, "segmenter", "services.segmenter.probe") == [
        "probe.py:6 imports services.compositor.blend",
        "probe.py:9 imports services.stylizer",
        "probe.py:12 imports services.compositor",
    ]
