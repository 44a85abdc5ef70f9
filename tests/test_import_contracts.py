"""The import contracts in pyproject.toml hold, and cover every module of each domain."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "course_supporter"

# A domain's interface: what other domains may import (pyproject.toml explains each choice).
INTERFACE = {
    "courses": {"service", "schemas", "models", "structure"},
    "materials": {"service", "schemas", "models"},
    "ingestion": {"extract", "document", "merge", "formats", "fetching", "errors"},
    "structuring": {"schemas", "references", "outline"},
    "authoring": {"service", "schemas"},
    "tenancy": {"service", "schemas", "models", "auth", "context", "scopes"},
    "jobs": {"service", "schemas", "models", "registry"},
    "reports": {"service", "schemas"},
    "mentoring": {"service", "schemas", "models"},
    "events": {"service", "schemas", "models"},
    "panel": set(),
}


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["contracts"])


def test_every_domain_module_is_interface_or_protected() -> None:
    for domain, interface in INTERFACE.items():
        (contract,) = [c for c in contracts() if c["id"] == f"{domain}-interface"]
        protected_modules = contract["protected_modules"]
        assert isinstance(protected_modules, list)
        protected = {str(m).rsplit(".", 1)[1] for m in protected_modules}
        modules = {p.stem for p in (PACKAGE / domain).glob("*.py")} - {"__init__"}
        assert not protected & interface, domain
        assert modules == protected | interface, (
            f"{domain}: classify {sorted(modules - protected - interface)} in pyproject.toml"
            f" (protected) or here (interface); drop {sorted((protected | interface) - modules)}"
        )


def test_every_domain_is_a_package() -> None:
    # A directory without __init__.py is a namespace package the contracts silently skip.
    for domain in INTERFACE:
        assert (PACKAGE / domain / "__init__.py").is_file(), domain


def test_the_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
