"""The apps form layers, and no app imports a higher one (STYLE.md, issue 11).

From the bottom: chatbot_site/lib (no app), accounts, conversations, consent,
retention, then the site itself (chatbot_site: settings, URL and API roots,
pages that read every app). Every module of those folders is parsed (ast, no
import runs) and each import it makes, at module level or inside a function,
is checked against its own layer. An import that runs upwards means the code
lives in the wrong app. Counted again with no allow-list, the graph of which
app imports which has no cycle (test_no_cycle_between_apps).

Function-local imports are a smell to explain: none is left except the ones
listed in FUNCTION_LOCAL_ALLOWED, each with its reason.

Run: .venv/bin/python -m pytest tests/test_layers.py
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Layer of each package, bottom first; chatbot_site.lib is below every app.
LAYERS: dict[str, int] = {
    "chatbot_site.lib": 0,
    "accounts": 1,
    "conversations": 2,
    "consent": 3,
    "retention": 4,
    "chatbot_site": 5,
}
APP_FOLDERS = ("accounts", "conversations", "consent", "retention", "chatbot_site")

DJANGO_READY = (
    "Django forces it: AppConfig.ready() is where models may first be imported, "
    "once the app registry has loaded every app"
)
AUDIT_LOADS_EARLY = (
    "Django forces it: every models.py imports chatbot_site.lib.audit while the app "
    "registry loads, before auditlog's and contenttypes' models may be imported"
)
IN_PROGRESS = "owned by another change in progress"

# (module path, imported module) -> why the import is inside a function.
FUNCTION_LOCAL_ALLOWED: dict[tuple[str, str], str] = {
    ("accounts/apps.py", "accounts.models"): DJANGO_READY,
    ("conversations/apps.py", "conversations.models"): DJANGO_READY,
    ("consent/apps.py", "consent.models"): DJANGO_READY,
    # consent installs the chat's hooks (conversations/chat_consent.py) from its
    # selectors and services, which import its models.
    ("consent/apps.py", "consent.selectors"): DJANGO_READY,
    ("consent/apps.py", "consent.services"): DJANGO_READY,
    ("retention/apps.py", "retention.models"): DJANGO_READY,
    ("chatbot_site/celery.py", "chatbot_site.checks"): (
        "Django forces it: chatbot_site/__init__.py loads the Celery app before "
        "Django is set up, and the key checks read settings and models"
    ),
    ("chatbot_site/lib/audit.py", "encrypted_model_fields.fields"): AUDIT_LOADS_EARLY,
    ("chatbot_site/lib/audit.py", "auditlog.registry"): AUDIT_LOADS_EARLY,
    ("chatbot_site/lib/audit.py", "auditlog.models"): AUDIT_LOADS_EARLY,
    ("chatbot_site/lib/audit.py", "auditlog.context"): AUDIT_LOADS_EARLY,
    ("chatbot_site/lib/audit.py", "django.contrib.contenttypes.models"): AUDIT_LOADS_EARLY,
}

# Modules that may import any layer, and why (none left: seed_demo, which
# imports every app, lives with the site in chatbot_site/management/commands/).
UPWARD_ALLOWED_MODULES: dict[str, str] = {}

# (module path, imported module) -> why a module imports a layer above its own.
UPWARD_ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    path: str  # relative to the repository, with forward slashes
    line: int
    module: str  # the imported module, absolute
    in_function: bool


def layer_of_module(module: str) -> int | None:
    """The layer of a dotted module name, or None outside the project's apps."""
    if module == "chatbot_site.lib" or module.startswith("chatbot_site.lib."):
        return LAYERS["chatbot_site.lib"]
    return LAYERS.get(module.split(".", 1)[0])


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules(root: Path = ROOT, folders: tuple[str, ...] = APP_FOLDERS) -> list[Path]:
    paths = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            paths.append(path)
    return paths


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(name: str, root: Path) -> bool:
    stem = root / name.replace(".", "/")
    return stem.with_suffix(".py").exists() or (stem / "__init__.py").exists()


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import in a module; `in_function` when it sits inside a def.

    ``from pkg import a, b`` counts as importing pkg.a and pkg.b when those are
    modules of the project, else as importing pkg.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    rel = path.relative_to(root).as_posix()
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(rel, child.lineno, alias.name, in_function))
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(child, package)
                subs = [f"{base}.{alias.name}" for alias in child.names]
                if all(_is_module(sub, root) for sub in subs):
                    found.extend(Import(rel, child.lineno, sub, in_function) for sub in subs)
                else:
                    found.append(Import(rel, child.lineno, base, in_function))
            inside = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            visit(child, inside)

    visit(tree, False)
    return found


def all_imports(root: Path = ROOT, folders: tuple[str, ...] = APP_FOLDERS) -> list[Import]:
    return [imp for path in app_modules(root, folders) for imp in imports_of(path, root)]


def upward_imports(root: Path = ROOT, folders: tuple[str, ...] = APP_FOLDERS) -> list[str]:
    problems = []
    for path in app_modules(root, folders):
        own = layer_of_module(module_name(path, root))
        for imp in imports_of(path, root):
            target = layer_of_module(imp.module)
            if target is None or target <= own:
                continue
            if (imp.path, imp.module) in UPWARD_ALLOWED or imp.path in UPWARD_ALLOWED_MODULES:
                continue
            problems.append(f"{imp.path}:{imp.line} imports {imp.module} (a higher layer)")
    return problems


def app_of_module(module: str) -> str | None:
    """The app (or chatbot_site.lib) a dotted module name belongs to."""
    if module == "chatbot_site.lib" or module.startswith("chatbot_site.lib."):
        return "chatbot_site.lib"
    top = module.split(".", 1)[0]
    return top if top in LAYERS else None


def app_graph(root: Path = ROOT, folders: tuple[str, ...] = APP_FOLDERS) -> dict[str, set[str]]:
    """Which app imports which, from every import (no allow-list applies here)."""
    graph: dict[str, set[str]] = {}
    for path in app_modules(root, folders):
        source = app_of_module(module_name(path, root))
        for imp in imports_of(path, root):
            target = app_of_module(imp.module)
            if source and target and target != source:
                graph.setdefault(source, set()).add(target)
    return graph


def app_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle found by a depth-first walk, as the list of apps around it."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def walk(node: str, trail: list[str]) -> None:
        if node in trail:
            cycles.append(trail[trail.index(node) :] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            walk(nxt, trail + [node])
        done.add(node)

    for start in sorted(graph):
        walk(start, [])
    return cycles


def unexplained_local_imports() -> list[str]:
    return [
        f"{imp.path}:{imp.line} imports {imp.module} inside a function"
        for imp in all_imports()
        if imp.in_function and (imp.path, imp.module) not in FUNCTION_LOCAL_ALLOWED
    ]


def test_every_app_module_is_parsed():
    names = {module_name(p) for p in app_modules()}
    assert {"accounts.models", "conversations.rights", "consent.views", "retention.views"} <= names
    assert "chatbot_site.lib.audit" in names


def test_no_app_imports_a_higher_one():
    assert upward_imports() == []


def test_no_cycle_between_apps():
    """No app imports another that imports it back, directly or around a loop.

    Counted from every import of every module, allow-listed or not.
    """
    graph = app_graph()
    assert graph["chatbot_site"] >= {"accounts", "conversations", "consent", "retention"}
    assert app_cycles(graph) == []


def test_the_cycle_finder_finds_a_loop_through_three_apps(tmp_path):
    for app, source in [
        ("accounts", "from conversations import models\n"),
        ("conversations", "from consent import models\n"),
        ("consent", "def f():\n    from accounts import models\n"),
    ]:
        (tmp_path / app).mkdir()
        (tmp_path / app / "models.py").write_text(source)
    graph = app_graph(tmp_path, ("accounts", "conversations", "consent"))
    assert app_cycles(graph) == [["accounts", "conversations", "consent", "accounts"]]
    (tmp_path / "consent" / "models.py").write_text("")
    assert app_cycles(app_graph(tmp_path, ("accounts", "conversations", "consent"))) == []


def test_accounts_imports_no_other_app():
    """accounts is the bottom app, like django.contrib.auth."""
    leaks = [
        f"{imp.path}:{imp.line} {imp.module}"
        for imp in all_imports()
        if imp.path.startswith("accounts/")
        and imp.path not in UPWARD_ALLOWED_MODULES
        and layer_of_module(imp.module)
        not in (None, LAYERS["chatbot_site.lib"], LAYERS["accounts"])
    ]
    assert leaks == []


def test_the_helpers_in_lib_import_no_app():
    leaks = [
        f"{imp.path}:{imp.line} {imp.module}"
        for imp in all_imports()
        if imp.path.startswith("chatbot_site/lib/")
        and layer_of_module(imp.module) not in (None, LAYERS["chatbot_site.lib"])
    ]
    assert leaks == []


def test_no_function_local_imports_are_left_but_the_explained_ones():
    assert unexplained_local_imports() == []


def test_every_explained_exception_is_still_needed():
    """A settled entry (not one of another change in progress) that no longer
    matches an import is removed from the list, so the list stays true."""
    local = {(i.path, i.module) for i in all_imports() if i.in_function}
    stale = [
        key
        for key, reason in FUNCTION_LOCAL_ALLOWED.items()
        if reason != IN_PROGRESS and key not in local
    ]
    assert stale == []


def test_every_allowed_upward_import_is_still_there():
    """A settled entry that no longer matches an import is removed from the list."""
    imported = {(i.path, i.module) for i in all_imports()}
    stale = [
        key
        for key, reason in UPWARD_ALLOWED.items()
        if reason != IN_PROGRESS and key not in imported
    ]
    assert stale == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from conversations.models import Inbox\n", ["x.py:1 imports conversations.models"]),
        ("def f():\n    from retention import models\n", ["x.py:2 imports retention.models"]),
        ("import retention.models as m\n", ["x.py:1 imports retention.models"]),
        ("from chatbot_site.lib import audit\nfrom . import models\n", []),
        ("import django\nfrom accounts.models import Company\n", []),
    ],
)
def test_the_checker_finds_upward_imports_at_module_level_and_in_functions(
    tmp_path, source, expected
):
    """The checker itself, on a made-up tree: accounts/x.py importing upwards is found."""
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "models.py").write_text("")
    (tmp_path / "accounts" / "x.py").write_text(source)
    (tmp_path / "retention").mkdir()
    (tmp_path / "retention" / "models.py").write_text("")
    found = upward_imports(tmp_path, ("accounts",))
    assert len(found) == len(expected), found
    for line, wanted in zip(found, expected, strict=True):
        assert wanted in line


def test_the_checker_marks_imports_inside_functions(tmp_path):
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "x.py").write_text(
        "import os\n\nclass A:\n    def m(self):\n        import json\n"
    )
    found = {(i.module, i.in_function) for i in all_imports(tmp_path, ("accounts",))}
    assert found == {("os", False), ("json", True)}
