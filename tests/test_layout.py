"""The package layout holds: every module imports on its own in a fresh interpreter (no import
circles), the module-level imports between our modules form no cycle, and the core outside api/
pulls in neither streamlit nor fastapi."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "postergenre"


def _modules() -> dict[str, Path]:
    """{dotted name: file} of every module of the package (``__main__`` aside: it runs the CLI)."""
    found = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


PROBE = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
         "print(json.dumps(sorted(m for m in ('streamlit', 'fastapi') if m in sys.modules)))")


def _import_alone(module: str) -> tuple[str, int, str, list[str]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    frameworks = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else []
    return module, proc.returncode, proc.stderr[-2000:], frameworks


def test_every_module_imports_alone_and_core_has_no_web_frameworks():
    modules = sorted(_modules())
    assert "postergenre.settings" in modules and len(modules) > 30
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_import_alone, modules))
    failed = {m: err for m, rc, err, _ in results if rc != 0}
    assert not failed, f"modules that do not import on their own: {failed}"
    leaks = {m: fw for m, _, _, fw in results if fw and not m.startswith("postergenre.api")}
    assert not leaks, f"core modules that import streamlit/fastapi: {leaks}"
    fastapi_outside = {m for m, _, _, fw in results if "fastapi" in fw and not m.startswith("postergenre.api")}
    assert not fastapi_outside


def _import_targets(node: ast.AST, package: str, known: set[str]) -> list[str]:
    """The dotted modules an import statement names (a relative one resolved from ``package``; ``from m
    import x`` names ``m.x`` when that is one of the ``known`` modules, else ``m``); [] for other nodes."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        up = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(up + ([node.module] if node.module else []))
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def _top_level_imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Our modules that ``module`` imports when it is imported (module level; TYPE_CHECKING blocks and
    imports inside functions, kept for heavy optional dependencies, are not run at import)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body + getattr(node, "orelse", []) + [s for h in getattr(node, "handlers", []) for s in h.body])
                continue
            found.update(t for t in _import_targets(node, package, known) if t in known and t != module)

    visit(ast.parse(path.read_text()).body)
    return found


def test_no_import_cycle_between_modules():
    modules = _modules()
    graph = {m: _top_level_imports(p, m, set(modules)) for m, p in modules.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def walk(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if n == m.rsplit(".", 1)[0]:
                continue  # a module naming its own package (``from .. import __version__``): loaded first anyway
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(n):] + [n]))
            if n not in state:
                walk(n, path + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m, [m])


# folder -> the folders its modules may import (README "Project layout"); "" = the top-level modules
# (errors, genres, settings), which import only each other.
ALLOWED = {
    "": {""},
    "sources": {"", "sources"},
    "model": {"", "sources", "model"},                  # serving only: never training/ or evaluation/
    "look": {"", "sources", "model", "look"},
    "compare": {"", "sources", "model", "look", "compare"},
    "catalog": {"", "sources", "model", "look", "catalog"},
    "api": {"", "sources", "model", "look", "compare", "catalog", "api"},
    "training": {"", "sources", "model", "evaluation", "training"},   # fits and exports
    "evaluation": {"", "sources", "model", "training", "evaluation"},  # measures and reports
    "commands": {"", "sources", "model", "look", "compare", "catalog", "api", "training", "evaluation", "commands"},
}
SERVING = ("model", "look", "compare", "catalog", "api")  # what the app and the API run: no fitting code
TOP_LEVEL_ALLOWED = {"postergenre.cli": {"", "commands"},   # the CLI dispatches to commands/
                     "postergenre": {"", "model"}}          # the package facade: postergenre.load() and friends


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PKG / parts[1]).is_dir() else ""


def _imported_modules(path: Path, module: str, known: set[str]) -> set[str]:
    """Every module of ours that ``module`` imports anywhere (functions included)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        found.update(t for t in _import_targets(node, package, known) if t == "postergenre" or t.startswith("postergenre."))
    return found


def test_folders_import_only_what_readme_allows():
    modules = _modules()
    assert {"postergenre.model.predictor", "postergenre.sources.images", "postergenre.look.atlas"} <= set(modules)
    assert set(ALLOWED) - {""} == {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    wrong = {}
    for module, path in modules.items():
        folder = _folder(module)
        allowed = TOP_LEVEL_ALLOWED.get(module, ALLOWED[folder])
        extra = {_folder(t) for t in _imported_modules(path, module, set(modules)) if t != "postergenre"} - allowed
        if extra:
            wrong[module] = sorted(extra)
    assert not wrong, f"modules importing folders README does not allow them: {wrong}"


def test_serving_never_imports_training_or_evaluation():
    """The serving folders import neither training/ nor evaluation/ (not even inside a function), so
    a serving install never needs scikit-learn's fitting code or the feature caches."""
    modules = _modules()
    wrong = {m: sorted(t for t in _imported_modules(p, m, set(modules)) if _folder(t) in ("training", "evaluation"))
             for m, p in modules.items() if _folder(m) in SERVING}
    assert not {m: t for m, t in wrong.items() if t}


def test_model_folder_only_serves_and_stays_small():
    entries = [p.name for p in (PKG / "model").iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 16, f"postergenre/model/ has {len(entries)} entries (at most 16): {sorted(entries)}"
    assert not {"train.py", "trust.py", "features.py", "evaluate.py", "metrics.py", "card.py"} & set(entries)


def _private_names_of_predictor() -> set[str]:
    """The private attributes and methods the Predictor module defines (``self._x = ...``, ``def _x``)."""
    tree = ast.parse((PKG / "model" / "predictor.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_") and not node.name.startswith("__"):
            names.add(node.name)
        if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            names.add(node.attr)
    return names


def test_nothing_outside_the_predictor_reads_its_private_attributes():
    """No module but ``model/predictor.py`` reads or swaps a private attribute of a predictor: the
    pipeline's stages are public and documented (``prepare``, ``encode``, ``image_logits``, ...)."""
    private = _private_names_of_predictor()
    files = [p for p in sorted(ROOT.rglob("*.py")) if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
             and p != PKG / "model" / "predictor.py"]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            base = ast.unparse(node.value)
            if base in ("self", "cls") or base.startswith("super("):
                continue
            if node.attr in private or "predictor" in base.lower():
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {base}.{node.attr}")
    assert not found, found


def test_every_folder_says_what_lives_there_and_what_it_may_import():
    for init in sorted(PKG.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert doc and "May import" in doc, f"{init.relative_to(ROOT)}: docstring lacks what lives there / 'May import ...'"


def test_readme_layout_section_names_every_folder_and_module():
    readme = (ROOT / "docs" / "architecture.md").read_text()   # README links to it
    section = readme[readme.index("## Project layout"):]
    section = section[: section.find("\n## ", 5)] if "\n## " in section[5:] else section
    missing = [str(p.relative_to(PKG)) for p in sorted(PKG.glob("*/*.py"))
               if p.name != "__init__.py" and p.parent.name in ("sources", "model", "look", "compare", "training",
                                                                 "evaluation")
               and f"`{p.name}`" not in section and f"`{p.stem}." not in section]
    missing += [f"{folder}/" for folder in ALLOWED if folder and f"`{folder}/`" not in section]
    assert not missing, f"docs/architecture.md's 'Project layout' section does not name: {missing}"


def test_every_python_file_of_the_repo_compiles_on_this_python():
    """Scripts no test imports (benchmarks, scripts) still parse on the oldest supported Python
    (3.11: no nested same-quote f-strings)."""
    files = [p.relative_to(ROOT) for p in ROOT.rglob("*.py")]
    files = [f for f in files if not any(part.startswith(".") or part in ("build", "dist") for part in f.parts)]
    broken = []
    for name in files:  # outside hidden folders (.venv, .git) and build outputs
        try:
            compile((ROOT / name).read_bytes(), str(name), "exec", dont_inherit=True)
        except SyntaxError as e:
            broken.append(f"{name}:{e.lineno}: {e.msg}")
    assert files and not broken, broken


def test_every_benchmark_starts():
    """Each benchmark's imports resolve and its options parse (``--help``): they run by hand, so a
    moved module or renamed option would otherwise go unnoticed until someone needs the figures."""
    def run(path: Path) -> tuple[str, int, str]:
        proc = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
        return path.name, proc.returncode, proc.stdout[:200] + proc.stderr[-1500:]

    benchmarks = sorted((ROOT / "benchmarks").glob("*.py"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, benchmarks))
    failed = [f"{name}: rc {rc}\n{out}" for name, rc, out in results if rc != 0 or "usage:" not in out]
    assert benchmarks and not failed, "\n\n".join(failed)
