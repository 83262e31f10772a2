"""Checks the architecture beyond what import-linter's contracts say: no import circle, no huge file.

import-linter (``lint-imports``, contracts in pyproject.toml) keeps the floors; this script finds every
strongly connected component of the module graph, counting imports made inside functions and under
``TYPE_CHECKING`` too, since a circle through a lazy import is still two modules that cannot be
understood (or moved) one without the other. It also holds every tracked Python file (product, tests,
benchmarks) to 800 lines: past that a file holds more than one concern. Exit status 1, with each
problem printed, if any exists.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "widgets", "viewers", "plugins", "core", "rtc", "backend")
MAX_LINES = 800


def module_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def long_files() -> list[tuple[str, int]]:
    """Tracked Python files over MAX_LINES lines (git ls-files, so a venv or build folder never counts)."""
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in listed:
        path = ROOT / name
        if path.is_file():
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                found.append((name, lines))
    return found


def main() -> int:
    graph = grimp.build_graph(*PACKAGES)
    cycles = module_cycles(graph)
    for component in cycles:
        print("import circle: " + " <-> ".join(component))
    too_long = long_files()
    for name, lines in too_long:
        print(f"{name}: {lines} lines (more than {MAX_LINES}: split it by concern)")
    if cycles or too_long:
        return 1
    print(f"no import circles among {len(graph.modules)} modules; no file over {MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
