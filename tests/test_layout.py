"""The code shows the data flow (DESIGN.md section 2): each stage imports only the stages below it, uses what a
stage offers (its ``__all__``) and never its private names, and the migrations match the models.

The table is the one place that says which way imports run. A new package goes into it; an import that runs the
other way fails here with the file, the line and the two stages named.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from django.core.management import call_command

SRC = Path(__file__).resolve().parent.parent / "src" / "contactpoint"

# Top first. A package may import any package in a later row; packages in the same row are independent of one
# another. Entry points, then the stages of the data flow, then what every stage stands on.
LAYERS: list[set[str]] = [
    {"cli", "urls", "settings", "wsgi"},  # the processes' entry modules
    {"fhir"},  # FHIR R4: builds on the JSON API's tokens and refusals
    {"api"},  # the JSON API: builds on the web's view guards
    {"web"},  # the pages
    {"synthetic"},  # the demo runs generated feeds through ingest
    {"ingest"},  # runs a feed through every stage below; none of them imports it
    {"feeds"},  # formats, rows and validation: the first stage of the flow
    {"monitoring"},  # misuse rules over the audit trail, access reports, witnessing
    {"lifecycle"},  # archive, seal, delete, shielding decisions, key rotation
    {"search"},  # criteria, candidates, scoring with the match model's weights
    {"matching"},  # which source records are one child; review queue; merges
    {"records"},  # the record view and practitioners' involvements
    {"bestview"},  # field-by-field best view; discrepancies to sources
    {"children"},  # the encrypted store of child records and source records
    {"access"},  # organisations, users, preconditions, reasons: checked by every entry point
    {"audit"},  # the hash-chained trail that every stage writes
    {"vault"},  # key ring, ciphers, blind indexes and their tokens
    {"config", "commands", "bulk"},  # settings; the CLI's command base; bulk SQL
    # plain modules with no contactpoint imports
    {"errors", "dates", "names", "reference", "correlation", "spreadsheets"},
]
# One import runs up, with its reason: the settings check, in production only, that the key ring is not a
# development one (the vault reads its own settings from config, so config asks for the vault when it runs).
ALLOWED_UPWARDS = {("config", "vault", "contactpoint.vault.keyring")}

RANK = {package: rank for rank, row in enumerate(LAYERS) for package in row}


def _package_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else path.stem


def _imports(path: Path, root: Path):
    """(line, module, names) for every import of a contactpoint module in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package_parts = path.relative_to(root).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package_parts[: len(package_parts) - node.level + 1])
                module = ".".join(["contactpoint", *base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module == "contactpoint" or module.startswith("contactpoint."):
                yield node.lineno, module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("contactpoint."):
                    yield node.lineno, alias.name, []


def _offered(package: str) -> set[str] | None:
    """A package's ``__all__`` (None for a plain module, or a package that declares none)."""
    init = SRC / package / "__init__.py"
    if not init.exists():
        return None
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return None


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "migrations" not in p.parts)


def _targets(module: str, names: list[str]) -> list[tuple[str, str | None]]:
    """(package imported from, the name it must offer) for an import statement."""
    parts = module.split(".")
    if len(parts) == 1:  # from contactpoint import bulk, errors
        return [(name, None) for name in names]
    if len(parts) == 2:  # from contactpoint.feeds import formats, validate
        return [(parts[1], name) for name in names] or [(parts[1], None)]
    return [(parts[1], parts[2])]  # from contactpoint.children.store import ...


def layering_problems(root: Path = SRC) -> list[str]:
    """What breaks the table in the code under ``root`` (a copy of ``src/contactpoint``'s layout)."""
    problems = []
    for path in _sources(root):
        here = _package_of(path, root)
        where = path.relative_to(root.parent)
        for line, module, names in _imports(path, root):
            for there, offered_name in _targets(module, names):
                if there == here:
                    continue
                if there not in RANK or here not in RANK:
                    problems.append(f"{where}:{line}: '{here}' or '{there}' is not in the table of LAYERS")
                    continue
                if RANK[there] <= RANK[here] and (here, there, module) not in ALLOWED_UPWARDS:
                    problems.append(f"{where}:{line}: {here} imports {module}, but {there} is not below {here}")
                offered = _offered(there)
                if offered is not None and offered_name is not None and offered_name not in offered:
                    problems.append(f"{where}:{line}: {here} imports {module} ({offered_name}), which {there} "
                                    f"does not offer (its __all__)")
                private = [n for n in [*names, *module.split(".")[2:]] if n.startswith("_")]
                if private:
                    problems.append(f"{where}:{line}: {here} imports {there}'s private {', '.join(private)}")
    return problems


def test_every_import_runs_down_the_flow_through_what_a_stage_offers():
    assert layering_problems() == []


def test_a_back_edge_is_caught(tmp_path):
    """The check itself: a stage that reached back up into ingestion, or into another stage's private names or
    modules it does not offer, is named with its file and line."""
    planted = tmp_path / "contactpoint" / "children" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("from contactpoint.ingest.batch import Batch\n"
                       "from contactpoint.vault.cipher import _x\n"
                       "from contactpoint.vault.apps import VaultConfig\n")
    found = layering_problems(tmp_path / "contactpoint")
    assert found == [
        "contactpoint/children/planted.py:1: children imports contactpoint.ingest.batch, but ingest is not below "
        "children",
        "contactpoint/children/planted.py:2: children imports vault's private _x",
        "contactpoint/children/planted.py:3: children imports contactpoint.vault.apps (apps), which vault does not "
        "offer (its __all__)",
    ]


def test_every_stage_package_says_what_it_offers():
    stages = [p.name for p in SRC.iterdir() if (p / "__init__.py").exists() and p.name not in ("reference",)]
    undeclared = [s for s in stages if _offered(s) is None]
    assert undeclared == []
    for stage in stages:
        missing = [m for m in _offered(stage) if not ((SRC / stage / f"{m}.py").exists()
                                                     or (SRC / stage / m / "__init__.py").exists()
                                                     or m in (SRC / stage / "__init__.py").read_text())]
        assert missing == [], f"{stage}.__all__ names what it does not hold"


@pytest.mark.django_db
def test_the_migrations_match_the_models():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
