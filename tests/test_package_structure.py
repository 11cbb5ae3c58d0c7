"""The rendered package's architecture, read from its source (AST): who owns what, who may import
what, no import cycles, no code asking where it runs, and no trace of an option that was not chosen.

- Team-owned: the model package (`src/<package>/model/`, which defines `MODEL`) and its tests
  (`tests/test_model.py`). `[tool.cruft] skip` lists exactly those, and every `ModelSpec(...)` is
  built there.
- Template-owned (everything else) reaches team code only through the contract's entry point:
  `from <package>.model import MODEL` (or the relative form). A template release that changed a
  helper inside a team file would be skipped by `cruft update`; a team rewrite would break the
  plumbing.
"""

import ast
import re
import tomllib

TEAM_OWNED = ("src/{package}/model", "tests/test_model.py")
ENTRY_POINT = "MODEL"
# Words of the options' code, settings and commands (README prose is not checked).
OPTION_WORDS = {
    "include_serving": r"serving|endpoint|online.?store|lakebase|smoke",
    "include_monitoring": r"monitor|drift|psi\b|audit",
    "include_feature_store": r"feature.?engineering.?(client|runtime)|featurelookup|feature_store|"
    r"databricks-feature-engineering|online.?store",
}
# Where an unchosen option must leave nothing: code, tests, settings, jobs, notebooks, packaging.
CHECKED = (
    "src",
    "tests",
    "conf",
    "resources",
    "notebooks",
    "sql",
    "pyproject.toml",
    "databricks.yml",
)
# Words that stay legitimate without the option: the data-quality gate refuses schema *drift*, and
# the monitoring latency check can watch any serving inference table named in its settings.
ALLOWED = {
    "include_monitoring": re.compile(r"schema[_ ]drift", re.I),
    "include_serving": re.compile(r"serving inference (\(payload\) )?table", re.I),
}


def modules(project, package):
    """Dotted module name -> (path relative to the project, parsed source), for src and tests."""
    found = {}
    for path in sorted((project / "src").rglob("*.py")):
        parts = list(path.relative_to(project / "src").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    for path in sorted((project / "tests").rglob("*.py")):
        found["tests." + ".".join(path.relative_to(project / "tests").with_suffix("").parts)] = path
    return {
        name: (str(path.relative_to(project)), ast.parse(path.read_text()))
        for name, path in found.items()
    }


def imports(name, path, tree):
    """(imported module, names taken from it) for every import statement, relative ones resolved."""
    is_package = path.endswith("__init__.py")
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module
            found.append((target, tuple(alias.name for alias in node.names)))
    return found


def team_owned(relative, package):
    return any(
        relative == owned or relative.startswith(owned + "/")
        for owned in (p.format(package=package) for p in TEAM_OWNED)
    )


def test_skip_list_is_the_team_owned_surface(project, answers):
    package = answers["package_name"]
    skip = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    assert sorted(skip) == sorted(p.format(package=package) for p in TEAM_OWNED)
    for path in skip:
        assert (project / path).exists(), f"skip entry {path} names nothing"
    # The contract is declared in the team's files and nowhere else.
    for relative, tree in modules(project, package).values():
        builds = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ModelSpec"
        ]
        if builds and not relative.startswith("tests/"):
            assert relative == f"src/{package}/model/__init__.py", f"{relative} builds a ModelSpec"


def test_template_code_reaches_the_model_only_through_its_entry_point(project, answers):
    package = answers["package_name"]
    model = f"{package}.model"
    found = modules(project, package)
    violations = []
    for name, (relative, tree) in found.items():
        if team_owned(relative, package):
            continue
        for target, names in imports(name, relative, tree):
            if target == model and names == (ENTRY_POINT,):
                continue
            if target == model or target.startswith(model + "."):
                violations.append(f"{relative}: imports {target} {list(names)}")
            elif target == package and "model" in names:
                violations.append(f"{relative}: imports the model package itself")
    assert not violations, "\n".join(violations)


def test_no_import_cycles(project, answers):
    package = answers["package_name"]
    found = {n: v for n, v in modules(project, package).items() if not n.startswith("tests.")}
    graph = {}
    for name, (relative, tree) in found.items():
        edges = set()
        for target, names in imports(name, relative, tree):
            candidates = [target, *(f"{target}.{n}" for n in names)]
            for candidate in candidates:
                # Importing a.b.c runs a and a.b first.
                parts = candidate.split(".")
                for end in range(1, len(parts) + 1):
                    module = ".".join(parts[:end])
                    if module in found and module != name and module != package:
                        edges.add(module)
        graph[name] = edges
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}

    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_only_the_runtime_package_asks_where_it_runs(project, answers):
    package = answers["package_name"]
    asks = re.compile(
        r"DATABRICKS_RUNTIME_VERSION|isinstance\([^)]*Runtime\)|\.name == \"(local|databricks)\""
    )
    for path in (project / "src" / package).rglob("*.py"):
        if path.relative_to(project / "src" / package).parts[0] == "runtime":
            continue
        assert not asks.search(path.read_text()), f"{path.name} asks where it runs"


def test_unchosen_options_leave_no_trace(project, answers):
    unchosen = [option for option in OPTION_WORDS if answers[option] == "no"]
    if not unchosen:
        return
    for option in unchosen:
        words = re.compile(OPTION_WORDS[option], re.I)
        for checked in CHECKED:
            root = project / checked
            paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in paths:
                for number, line in enumerate(path.read_text().splitlines(), 1):
                    if option in ALLOWED:
                        line = ALLOWED[option].sub("", line)
                    match = words.search(line)
                    assert not match, (
                        f"{option}=no, yet {path.relative_to(project)}:{number} says "
                        f"{match.group(0)!r}: {line.strip()}"
                    )
