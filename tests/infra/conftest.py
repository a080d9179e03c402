"""Fixtures for the infrastructure checks: the Bicep facts and the checkov report, both produced
by the tools in the infra tool environment (.venv-infra, built by `make test`), run side by side
once per session."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BICEP_DIR = ROOT / "infra" / "bicep"
INFRA_PYTHON = ROOT / ".venv-infra" / "bin" / "python"
FACTS_TOOL = Path(__file__).resolve().parent / "bicep_facts.py"
CANARY_DIR = "checkov-canary"

# A resource checkov must fail, scanned with the real files: proof the scan can fail.
INSECURE_STORAGE = """resource open 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'open'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowBlobPublicAccess: true
    minimumTlsVersion: 'TLS1_0'
    supportsHttpsTrafficOnly: false
  }
}
"""


def infra_python() -> Path:
    if not INFRA_PYTHON.exists():
        pytest.fail("the Bicep checkers are not installed: run `make .venv-infra/.installed`")
    return INFRA_PYTHON


def facts_command(directory: Path, azure_yaml: Path | None = None) -> list[str]:
    args = [str(infra_python()), str(FACTS_TOOL), str(directory)]
    return [*args, str(azure_yaml)] if azure_yaml is not None else args


def checkov_command(directory: Path) -> list[str]:
    checkov = infra_python().parent / "checkov"
    return [str(checkov), "--framework", "bicep", "--directory", str(directory), "-o", "json"]


def finish(process: subprocess.Popen[str], what: str) -> str:
    stdout, stderr = process.communicate(timeout=300)
    if not stdout.strip():
        pytest.fail(f"{what} printed nothing (exit {process.returncode}): {stderr[-2000:]}")
    return stdout


def bicep_facts_of(directory: Path, azure_yaml: Path | None = None) -> dict[str, Any]:
    process = subprocess.Popen(
        facts_command(directory, azure_yaml),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return json.loads(finish(process, "bicep_facts"))


def checkov_results(stdout: str) -> dict[str, Any]:
    report = json.loads(stdout)
    if isinstance(report, list):
        (report,) = [r for r in report if r.get("check_type") == "bicep"]
    return report


@pytest.fixture(scope="session")
def infra_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    scan = tmp_path_factory.mktemp("bicep") / "bicep"
    shutil.copytree(BICEP_DIR, scan)
    (scan / CANARY_DIR).mkdir()
    (scan / CANARY_DIR / "open.bicep").write_text(INSECURE_STORAGE)
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    checkov = subprocess.Popen(checkov_command(scan), **popen)
    facts = subprocess.Popen(facts_command(BICEP_DIR, ROOT / "azure.yaml"), **popen)
    return {
        "facts": json.loads(finish(facts, "bicep_facts")),
        "checkov": checkov_results(finish(checkov, "checkov")),
    }


@pytest.fixture(scope="session")
def bicep_facts(infra_reports: dict[str, Any]) -> dict[str, Any]:
    return infra_reports["facts"]


@pytest.fixture(scope="session")
def checkov_report(infra_reports: dict[str, Any]) -> dict[str, Any]:
    """checkov's results for infra/bicep, with the canary's kept under `canary_failed`."""
    report = infra_reports["checkov"]
    results = report["results"]

    def canary(check: dict[str, Any]) -> bool:
        return check["file_path"].lstrip("/").startswith(f"{CANARY_DIR}/")

    own = {key: [c for c in checks if not canary(c)] for key, checks in results.items()}
    return {
        "summary": report["summary"],
        "results": own,
        "canary_failed": [c for c in results.get("failed_checks", []) if canary(c)],
    }


@pytest.fixture(scope="session")
def main_bicep(bicep_facts: dict[str, Any]) -> dict[str, Any]:
    return bicep_facts["files"]["main.bicep"]


@pytest.fixture(scope="session")
def app_settings(main_bicep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """main.bicep's `appSettings`: name -> {kind, text, literal}."""
    return main_bicep["objects"]["appSettings"]
