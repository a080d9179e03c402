"""The Bicep as code that cannot be compiled here: both parsers accept it, checkov passes it,
every resource type and API version is a real one, modules are wired to parameters and
outputs that exist, and the azd project points at it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.api_versions import BUILT_IN_ROLES, KNOWN_API_VERSIONS
from tests.infra.conftest import BICEP_DIR, ROOT, bicep_facts_of

BICEP_FILES = sorted(str(p.relative_to(BICEP_DIR)) for p in BICEP_DIR.rglob("*.bicep"))
NO_REASON = {"", "No comment provided"}


def test_the_expected_modules_exist() -> None:
    modules = {Path(f).stem for f in BICEP_FILES if f.startswith("modules/")}
    assert {
        "identity",
        "monitoring",
        "storage",
        "eventhubs",
        "postgres",
        "signalr",
        "keyvault",
        "functionapp",
        "roles",
        "alerts",
    } <= modules


@pytest.mark.parametrize("name", BICEP_FILES)
def test_tree_sitter_bicep_parses(bicep_facts: dict[str, Any], name: str) -> None:
    assert bicep_facts["files"][name]["tree_sitter_errors"] == []


@pytest.mark.parametrize("name", BICEP_FILES)
def test_pycep_parses(bicep_facts: dict[str, Any], name: str) -> None:
    assert bicep_facts["files"][name]["pycep_error"] is None


def test_both_parsers_reject_broken_bicep(tmp_path: Path) -> None:
    (tmp_path / "broken.bicep").write_text(
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n  kind:\n"
    )
    facts = bicep_facts_of(tmp_path)["files"]["broken.bicep"]
    assert facts["tree_sitter_errors"]
    assert facts["pycep_error"]


def test_checkov_passes_with_only_reasoned_skips(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    results = checkov_report["results"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in results.get("failed_checks", [])
    ]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    assert failed == []
    unreasoned = [
        f"{c['check_id']} {c['resource']}"
        for c in results.get("skipped_checks", [])
        if (c.get("check_result", {}).get("suppress_comment") or "").strip() in NO_REASON
    ]
    assert unreasoned == []


def test_every_skip_comment_is_reasoned_and_used(
    bicep_facts: dict[str, Any], checkov_report: dict[str, Any]
) -> None:
    used = {
        (c["file_path"].lstrip("/"), c["check_id"])
        for c in checkov_report["results"].get("skipped_checks", [])
    }
    stale, unreasoned = [], []
    for name, facts in bicep_facts["files"].items():
        for skip in facts["skips"]:
            if len(skip["reason"]) < 20:
                unreasoned.append(f"{name}:{skip['line']} {skip['check']}")
            if (name, skip["check"]) not in used:
                stale.append(f"{name}:{skip['line']} {skip['check']}")
    assert unreasoned == []
    assert stale == []


def test_checkov_fails_an_insecure_resource(checkov_report: dict[str, Any]) -> None:
    failed = {c["check_id"] for c in checkov_report["canary_failed"]}
    assert {"CKV_AZURE_44", "CKV_AZURE_3"} & failed


def test_every_resource_uses_a_known_api_version(bicep_facts: dict[str, Any]) -> None:
    unknown = [
        f"{name}:{r['line']} {r['type']}@{r['api_version']}"
        for name, facts in bicep_facts["files"].items()
        for r in facts["resources"]
        if (r["type"], r["api_version"]) not in KNOWN_API_VERSIONS
    ]
    assert unknown == []
    used = {
        (r["type"], r["api_version"]) for f in bicep_facts["files"].values() for r in f["resources"]
    }
    assert len(used) >= 25


def test_role_assignments_use_the_named_built_in_roles(bicep_facts: dict[str, Any]) -> None:
    roles = bicep_facts["files"]["modules/roles.bicep"]["objects"]["roles"]
    by_id = {entry["literal"]: name for name, entry in roles.items()}
    assert set(by_id) <= set(BUILT_IN_ROLES)
    for role_id, symbol in by_id.items():
        words = re.sub(r"([A-Z])", r" \1", symbol).lower().split()
        title = BUILT_IN_ROLES[role_id].lower().replace("azure ", "").replace("signalr", "signal r")
        assert title.split() == words, (symbol, BUILT_IN_ROLES[role_id])
    assert set(BUILT_IN_ROLES) == set(by_id), "every role the pipeline needs is assigned"


def test_modules_get_parameters_they_declare(bicep_facts: dict[str, Any]) -> None:
    problems = []
    for caller, facts in bicep_facts["files"].items():
        for symbol, module in facts["modules"].items():
            declared = bicep_facts["files"][module["path"]]["params"]
            passed = set(module["params"])
            problems += [f"{caller}: {symbol} has no param {p}" for p in passed - set(declared)]
            required = {p for p, d in declared.items() if not d["has_default"]}
            problems += [f"{caller}: {symbol} misses {p}" for p in required - passed]
    assert problems == []


def test_module_outputs_used_exist(bicep_facts: dict[str, Any]) -> None:
    problems = []
    for caller, facts in bicep_facts["files"].items():
        source = (BICEP_DIR / caller).read_text()
        for symbol, output in re.findall(r"\b(\w+)\.outputs\.(\w+)", source):
            module = facts["modules"].get(symbol)
            if module is None:
                problems.append(f"{caller}: {symbol} is not a module")
            elif output not in bicep_facts["files"][module["path"]]["outputs"]:
                problems.append(f"{caller}: {module['path']} has no output {output}")
    assert problems == []


def test_bicepparam_sets_parameters_of_main(bicep_facts: dict[str, Any]) -> None:
    params = bicep_facts["bicepparam"]["main.bicepparam"]
    declared = bicep_facts["files"]["main.bicep"]["params"]
    assert params["using"] == "./main.bicep"
    assert sorted(set(params["params"]) - set(declared)) == []
    required = {name for name, d in declared.items() if not d["has_default"]}
    assert sorted(required - set(params["params"])) == []


def test_main_outputs_what_a_person_needs(main_bicep: dict[str, Any]) -> None:
    assert {
        "INGEST_URL",
        "DASHBOARD_URL",
        "HEALTH_URL",
        "PORTAL_DASHBOARD_URL",
        "SERVICE_API_NAME",
        "AZURE_RESOURCE_GROUP",
        "POSTGRES_HOST",
        "KEY_VAULT_NAME",
    } <= set(main_bicep["outputs"])


def test_azure_yaml_deploys_the_function_app(bicep_facts: dict[str, Any]) -> None:
    project = bicep_facts["azure_yaml"]
    assert project["infra"] == {"provider": "bicep", "path": "infra/bicep", "module": "main"}
    (service,) = project["services"].values()
    assert (service["host"], service["language"], service["project"]) == ("function", "python", ".")
    prepackage = service["hooks"]["prepackage"]["posix"]["run"]
    scripts = json.loads((ROOT / "package.json").read_text())["scripts"]
    assert "npm run build:dashboard" in prepackage and "build:dashboard" in scripts
    hooks = [project["hooks"]["preprovision"]["posix"], service["hooks"]["predeploy"]["posix"]]
    for hook in hooks:
        script = ROOT / hook["run"]
        assert script.is_file() and os.access(script, os.X_OK), hook["run"]


def test_the_deployment_package_keeps_the_app_and_drops_the_rest() -> None:
    ignored = (ROOT / ".funcignore").read_text().split()
    for kept in ("function_app.py", "functions/", "shared/", "host.json", "dashboard/dist/"):
        assert not any(kept.startswith(pattern) for pattern in ignored), kept
    for dropped in (".venv/", "node_modules/", "tests/", "local.settings.json"):
        assert dropped in ignored


def test_archive_immutability_keeps_idempotent_rewrites_working() -> None:
    """The archive rewrites a blob of the same name on a retry; a container-level WORM policy
    would refuse that, a version-level one keeps each version write-once instead."""
    storage = (BICEP_DIR / "modules" / "storage.bicep").read_text()
    container = storage[storage.index("resource archiveContainer") :]
    container = container[: container.index("\n}\n")]
    assert "immutableStorageWithVersioning" in container
    assert "isVersioningEnabled: immutable" in storage
    assert re.search(r"version: \{\s*tierToCool: [^}]*\}\s*delete:", storage)


@pytest.mark.parametrize("script", ["preprovision.sh", "migrate.sh"])
def test_hook_scripts_are_valid_posix_shell(script: str) -> None:
    path = BICEP_DIR / "scripts" / script
    done = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_migrate_hook_skips_without_a_postgres_administrator() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("AZURE_PRINCIPAL_NAME", "POSTGRES_HOST")
    }
    done = subprocess.run(
        ["sh", str(BICEP_DIR / "scripts" / "migrate.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0
    assert "skipping migrations" in done.stderr
