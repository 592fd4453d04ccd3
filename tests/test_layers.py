"""The house rules of the package, beside tests/test_lint.py: imports run one way through the
layers, no module imports another in a cycle (imports inside functions included), and the text
stage loads no table or map library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Layers in flow order; a module may import modules of its own layer or of layers before it.
LAYERS: list[tuple[str, set[str]]] = [
    (
        "base",
        {
            "geo",
            "geo.errors",
            "geo.paths",
            "geo.models",
            "geo.chars",
            "geo.worker",
            "geo.county_settings",
            "geo.io",
            "geo.io.gdal_safety",
            "geo.io.bulletin_files",
            "geo.io.boundary_files",
            "geo.markup",
        },
    ),
    (
        "text",
        {
            "geo.cues",
            "geo.masthead",
            "geo.normalise",
            "geo.lines",
            "geo.credits",
            "geo.furniture",
            "geo.layout",
            "geo.items",
            "geo.recut",
            "geo.metrics",
            "geo.running_totals",
            "geo.sectors",
        },
    ),
    (
        "places",
        {
            "geo.gazetteer",
            "geo.place_rules",
            "geo.place_names",
            "geo.place_candidates",
            "geo.place_features",
            "geo.place_scoring",
            "geo.geocode",
            "geo.pipeline",
            "geo.prefecture",
        },
    ),
    (
        "data",
        {
            "geo.aggregate",
            "geo.review",
            "geo.store",
            "geo.store_backend",
            "geo.store_sqlite",
            "geo.store_postgis",
            "geo.outlines",
            "geo.position_check",
            "geo.boundary_join",
            "geo.boundaries",
            "geo.boundary_import",
            "geo.near_duplicates",
            "geo.facts",
            "geo.store_facts",
            "geo.trends",
        },
    ),
    ("vocabulary", {"geo.display"}),
    ("view-model", {"geo.view", "geo.figures", "geo.picture"}),
    ("drawing", {"geo.assets", "geo.browser", "geo.webmap", "geo.render", "geo.charts"}),
    ("exports", {"geo.export", "geo.report", "geo.report_csv"}),
    ("workflows", {"geo.workflows", "geo.bulk_ingest"}),
    ("front ends", {"geo.app_support", "geo.cli", "geo.__main__", "geo.evaluate"}),
]
#: The text stage: it must not load these (directly or through what it imports).
TEXT_STAGE = [
    "geo.normalise",
    "geo.masthead",
    "geo.items",
    "geo.recut",
    "geo.metrics",
    "geo.running_totals",
    "geo.sectors",
    "geo.chars",
]
HEAVY = ["pandas", "geopandas", "numpy", "shapely", "folium", "matplotlib", "pyogrio"]


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ``geo``/``app`` module ``path`` imports, at the top or inside functions."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] in ("geo", "app")}


def _graph() -> dict[str, set[str]]:
    files = sorted((REPO / "geo").rglob("*.py")) + sorted((REPO / "app").rglob("*.py"))
    files.append(REPO / "streamlit_app.py")
    modules = {_module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        deps = {d for d in _imports(path) if d in modules and d != name}
        graph[name] = deps - {"geo", "app"}  # the package roots hold no code to depend on
    return graph


def _layer_of(module: str) -> int | None:
    for i, (_, members) in enumerate(LAYERS):
        if module in members:
            return i
    return None


def test_every_geo_module_has_a_layer():
    unplaced = [m for m in _graph() if m.startswith("geo") and _layer_of(m) is None]
    assert unplaced == [], f"add these modules to LAYERS in {__file__}: {unplaced}"


def test_imports_run_one_way_through_the_layers():
    wrong = []
    for module, deps in _graph().items():
        own = _layer_of(module)
        if own is None:
            continue  # the app (app/, streamlit_app.py) sits on top of everything
        for dep in deps:
            layer = _layer_of(dep)
            if layer is not None and layer > own:
                wrong.append(f"{module} ({LAYERS[own][0]}) imports {dep} ({LAYERS[layer][0]})")
    assert wrong == [], "\n".join(sorted(wrong))


def test_no_import_cycles_even_through_imports_inside_functions():
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == [], "\n".join(" → ".join(c) for c in cycles)


def test_the_text_stage_loads_no_table_or_map_library():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in TEXT_STAGE)
        + f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == ""
