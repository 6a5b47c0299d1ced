"""Check that imports point down the layers of ``[tool.artic_rl.layers]`` in pyproject.toml.

Every ``import`` in the package counts, module-level or inside a function (a lazy import is still a
dependency). A module belongs to the layer of its longest matching prefix; it may import from its
own layer's package and from layers below, never from a layer above or from an independent sibling
(``a | b``). The file-to-module mapping follows ``[tool.setuptools] package-dir`` (``envs/`` is
``artic_rl.envs``). Prints each violation as ``file:line: importer -> imported`` and the import
cycles between packages, and exits 1 if there is either.

    python scripts/check_layers.py [ROOT]
"""

from __future__ import annotations

import ast
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: Path
    line: int


def module_files(root: Path, package_dir: dict[str, str]) -> dict[str, Path]:
    """Module name -> file, for every package mapped in ``package_dir``."""
    out: dict[str, Path] = {}
    for package, folder in package_dir.items():
        base = root / folder
        for path in sorted(base.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            out[name] = path
    return out


def imports_of(module: str, path: Path, is_package: bool) -> list[Import]:
    """Absolute names of everything ``module`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    parent = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, a.name, path, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = parent.split(".")[: len(parent.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found += [Import(module, f"{base}.{a.name}", path, node.lineno) for a in node.names]
            found.append(Import(module, base, path, node.lineno))
    return found


def layer_of(module: str, layers: list[list[str]]) -> tuple[int, str] | None:
    """(layer index, top = 0; the matching package) of ``module``, or None outside the layers."""
    best: tuple[int, str] | None = None
    for i, row in enumerate(layers):
        for package in row:
            if (module == package or module.startswith(package + ".")) and (
                best is None or len(package) > len(best[1])
            ):
                best = (i, package)
    return best


def violations(imports: list[Import], layers: list[list[str]]) -> list[Import]:
    """Imports from a layer above, or from an independent sibling of the same layer."""
    bad: dict[tuple[Path, int], Import] = {}
    for imp in imports:
        src, dst = layer_of(imp.importer, layers), layer_of(imp.imported, layers)
        if src is None or dst is None or src[1] == dst[1]:
            continue
        if dst[0] <= src[0]:
            bad.setdefault((imp.path, imp.line), imp)  # one report per import statement
    return list(bad.values())


def package_cycles(imports: list[Import], layers: list[list[str]]) -> list[tuple[str, ...]]:
    """The groups of layer packages that reach each other through imports (each a cycle)."""
    edges: dict[str, set[str]] = {}
    for imp in imports:
        src, dst = layer_of(imp.importer, layers), layer_of(imp.imported, layers)
        if src is not None and dst is not None and src[1] != dst[1]:
            edges.setdefault(src[1], set()).add(dst[1])

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached = {p: reach(p) for p in edges}
    groups = {
        tuple(sorted(q for q in reached if q == p or (q in reached[p] and p in reached[q])))
        for p in reached
        if p in reached[p]
    }
    return sorted(groups)


def check(root: Path) -> tuple[list[Import], list[tuple[str, ...]]]:
    """(violations, package cycles) of the project at ``root``."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    layers = [
        [p.strip() for p in row.split("|")]
        for row in config["tool"]["artic_rl"]["layers"]["layers"]
    ]
    mapping = dict(config["tool"]["setuptools"]["package-dir"])
    packages = config["tool"]["setuptools"]["packages"]
    package_dir = {}
    for package in packages:
        owner = max((p for p in mapping if package == p or package.startswith(p + ".")), key=len)
        package_dir[package] = mapping[owner] + package[len(owner) :].replace(".", "/")
    files = module_files(root, package_dir)
    imports = [
        imp
        for module, path in files.items()
        for imp in imports_of(module, path, path.stem == "__init__")
    ]
    return violations(imports, layers), package_cycles(imports, layers)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1]
    bad, cycles = check(root)
    for imp in bad:
        rel = imp.path.relative_to(root)
        print(f"{rel}:{imp.line}: {imp.importer} -> {imp.imported} (an upward import)")
    for group in cycles:
        print(f"import cycle between: {', '.join(group)}")
    if not bad and not cycles:
        print("layers: every import points down; no cycles between packages")
    return 1 if bad or cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
