"""Import cycles among nas_system's own modules (run by scripts/check-cycles.mjs, or alone).

Reads every .py file under nas_system/ with ast (nothing is imported), follows its imports of
nas_system modules (module level and inside functions), and prints each cycle on one line as
``a.py <-> b.py``; exit 1 when there is one."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "nas_system"


def module_of(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    mod = module_of(path, root)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, *([base] if base else [])])
            names = [base] + [f"{base}.{a.name}" if base else a.name for a in node.names]
        else:
            continue
        for name in names:
            # the longest known module the name starts with (a.b.c -> a.b when c is a function)
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != mod:
                found.add(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    """``check_cycles.py [ROOT]`` (default: nas_system/)."""
    root = Path(argv[0]).resolve() if argv else ROOT
    files = [p for p in root.rglob("*.py") if "tests" not in p.relative_to(root).parts and "__pycache__" not in p.parts]
    modules = {module_of(p, root) for p in files}
    # a package's __init__ is imported by its own modules' imports: not an edge worth a cycle
    graph = {module_of(p, root): {m for m in imports(p, modules, root) if not module_of(p, root).startswith(m + ".")}
             for p in files}
    found = cycles(graph)
    for c in found:
        print(" <-> ".join(f"{m.replace('.', '/')}.py" for m in c))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
