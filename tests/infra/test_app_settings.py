"""The Function App's app settings in main.bicep against what the code reads: every setting of
shared.settings, every connection, hub, consumer group and %SETTING% in function_app.py's
function metadata, by the same names; connections by managed identity; no literal secret."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from shared.settings import Settings
from tests.infra.conftest import ROOT

SETTING_REFERENCE = re.compile(r"%([A-Za-z0-9_]+)%")
IDENTITY_CLIENT_ID = "identity.outputs.clientId"
SENSITIVE_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|API_KEYS|WEBHOOK|PRIVATE|_KEY$", re.IGNORECASE)
KEY_VAULT_REFERENCE = "@Microsoft.KeyVault(SecretUri=${"
CREDENTIAL_LOOKING = re.compile(
    r"AccountKey=|SharedAccessKey|Password=|sig=|[A-Za-z0-9+/=_-]{32,}", re.IGNORECASE
)
URI_SUFFIXES = ("__fullyQualifiedNamespace", "__serviceUri", "__blobServiceUri")

# Read only on a developer's machine: in Azure the same thing comes by identity.
LOCAL_ONLY = {
    "DATABASE_URL": "POSTGRES_HOST, POSTGRES_DATABASE, POSTGRES_USER with an Entra token",
}
# local.settings.example.json entries that Azure sets another way.
LOCAL_TO_AZURE = {
    "FUNCTIONS_WORKER_RUNTIME": "functionAppConfig.runtime (python 3.11) on Flex Consumption",
    "AzureWebJobsStorage": "AzureWebJobsStorage__ blobServiceUri, queueServiceUri, tableServiceUri",
    "EventHubConnection": "EventHubConnection__fullyQualifiedNamespace",
    "ArchiveStorage": "ArchiveStorage__blobServiceUri",
    "AzureSignalRConnectionString": "AzureSignalRConnectionString__serviceUri",
    **LOCAL_ONLY,
}
# Flex Consumption rejects these or sets them itself (runtime, content share, time zone).
FLEX_FORBIDDEN = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_TIME_ZONE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "AzureWebJobsStorage",
}


class RecordingEnv(Mapping[str, str]):
    """An empty environment that records every name the settings ask for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.asked.append(key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.append(key)
        return default

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def names_the_settings_read() -> list[str]:
    env = RecordingEnv()
    Settings.from_env(env)
    return list(dict.fromkeys(env.asked))


LIST_BINDINGS = """
import json, function_app
print(json.dumps([
    [f.get_function_name(), b]
    for f in function_app.app.get_functions()
    for b in json.loads(f.get_function_json())["bindings"]
]))
"""


@functools.cache
def bindings() -> list[tuple[str, dict[str, Any]]]:
    """Every binding of every function in function_app.py, read in a fresh interpreter (the
    FunctionApp indexes its functions once per process)."""
    done = subprocess.run(
        [sys.executable, "-c", LIST_BINDINGS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [(name, binding) for name, binding in json.loads(done.stdout)]


def identity_connection_problems(
    name: str, settings: Mapping[str, dict[str, Any]], uri_suffixes: tuple[str, ...]
) -> list[str]:
    problems = []
    if name in settings:
        problems.append(f"{name} is set as a connection string")
    credential = settings.get(f"{name}__credential", {}).get("literal")
    if credential != "managedidentity":
        problems.append(f"{name}__credential is not managedidentity")
    if settings.get(f"{name}__clientId", {}).get("text") != IDENTITY_CLIENT_ID:
        problems.append(f"{name}__clientId is not the app identity's client id")
    if not any(f"{name}{suffix}" in settings for suffix in uri_suffixes):
        problems.append(f"{name} has none of {', '.join(name + s for s in uri_suffixes)}")
    return problems


def secret_problems(settings: Mapping[str, dict[str, Any]], secure_params: set[str]) -> list[str]:
    """Settings that carry a secret in plain text instead of a Key Vault reference."""
    problems = []
    for name, value in settings.items():
        source = value["text"]
        exposed = re.sub(r"empty\(\s*\w+\s*\)", "", source)
        for param in secure_params:
            if re.search(rf"\b{param}\b", exposed):
                problems.append(f"{name} carries the secure parameter {param}")
        for quoted in re.findall(r"'((?:[^'\\]|\\.)*)'", source):
            plain = re.sub(r"\$\{[^}]*\}", "", quoted)
            if CREDENTIAL_LOOKING.search(plain):
                problems.append(f"{name} has a literal that looks like a credential")
        if SENSITIVE_NAME.search(name):
            literals = re.findall(r"'((?:[^'\\]|\\.)*)'", source)
            if not any(lit.startswith(KEY_VAULT_REFERENCE) for lit in literals) or any(
                lit and not lit.startswith(KEY_VAULT_REFERENCE) for lit in literals
            ):
                problems.append(f"{name} is not a Key Vault reference")
    return problems


def resolve(value: str, settings: Mapping[str, dict[str, Any]], variables: dict[str, Any]) -> Any:
    """A binding value with %SETTING% replaced by the setting's value in main.bicep."""
    match = SETTING_REFERENCE.fullmatch(value)
    if not match:
        return value
    setting = settings.get(match.group(1))
    if setting is None:
        return None
    if setting["kind"] == "identifier":
        return variables.get(setting["text"])
    return setting["literal"]


def test_every_setting_the_code_reads_is_an_app_setting(
    app_settings: dict[str, dict[str, Any]],
) -> None:
    asked = names_the_settings_read()
    assert len(asked) > 40
    connections = sorted({name.split("__")[0] for name in asked if "__" in name})
    plain = [n for n in asked if "__" not in n and n not in connections and n not in LOCAL_ONLY]
    assert [n for n in plain if n not in app_settings] == []
    problems = []
    for connection in connections:
        uris = tuple(s for s in URI_SUFFIXES if f"{connection}{s}" in asked) or URI_SUFFIXES
        problems += identity_connection_problems(connection, app_settings, uris)
    assert problems == []


def test_literal_app_settings_are_valid_settings(
    app_settings: dict[str, dict[str, Any]], main_bicep: dict[str, Any]
) -> None:
    env = {name: v["literal"] for name, v in app_settings.items() if v["literal"] is not None}
    for name, value in app_settings.items():
        if value["kind"] == "identifier" and main_bicep["variables"].get(value["text"]):
            env[name] = main_bicep["variables"][value["text"]]
    settings = Settings.from_env(env)
    assert settings.eventhub_name == main_bicep["variables"]["eventHubName"]
    assert settings.archive_container == main_bicep["variables"]["archiveContainerName"]
    assert settings.deadletter_container == main_bicep["variables"]["deadletterContainerName"]
    assert settings.reports_container == main_bicep["variables"]["reportsContainerName"]


def test_function_bindings_use_defined_settings_hubs_and_groups(
    app_settings: dict[str, dict[str, Any]], main_bicep: dict[str, Any]
) -> None:
    variables = main_bicep["variables"]
    signalr_hub = app_settings["SIGNALR_HUB"]["literal"]
    triggered = [b for _, b in bindings() if b["type"] == "eventHubTrigger"]
    assert triggered, "function_app registers Event Hub-triggered functions"
    problems: list[str] = []
    groups_used: list[str] = []
    for function, binding in bindings():
        for key, value in binding.items():
            for name in SETTING_REFERENCE.findall(value) if isinstance(value, str) else []:
                if name not in app_settings:
                    problems.append(f"{function}: {key} names {name}, not an app setting")
        kind = binding["type"]
        connection = binding.get("connection") or binding.get("connectionStringSetting")
        if kind == "eventHubTrigger":
            problems += identity_connection_problems(
                connection, app_settings, ("__fullyQualifiedNamespace",)
            )
            hub = resolve(binding["eventHubName"], app_settings, variables)
            if hub != variables["eventHubName"]:
                problems.append(f"{function}: hub {hub!r} is not the deployed hub")
            group = resolve(binding.get("consumerGroup", "$Default"), app_settings, variables)
            groups_used.append(group)
            if group not in variables["eventHubConsumerGroups"]:
                problems.append(f"{function}: consumer group {group!r} is not deployed")
        elif kind in ("signalR", "signalRConnectionInfo"):
            problems += identity_connection_problems(connection, app_settings, ("__serviceUri",))
            hub = resolve(binding["hubName"], app_settings, variables)
            if hub != signalr_hub:
                problems.append(f"{function}: SignalR hub {hub!r} is not SIGNALR_HUB")
        elif kind == "timerTrigger":
            schedule = resolve(binding["schedule"], app_settings, variables)
            if not isinstance(schedule, str) or len(schedule.split()) != 6:
                problems.append(f"{function}: schedule {schedule!r} is not a 6-field NCRONTAB")
        elif connection:
            problems += identity_connection_problems(connection, app_settings, URI_SUFFIXES)
    assert problems == []
    duplicated = sorted({g for g in groups_used if groups_used.count(g) > 1})
    assert duplicated == [], "each Event Hub-triggered function reads with its own group"


def test_no_app_setting_carries_a_literal_secret(
    app_settings: dict[str, dict[str, Any]], main_bicep: dict[str, Any]
) -> None:
    secure = set(re.findall(r"@secure\(\)\s*(?:@[^\n]*\n\s*)*param\s+(\w+)", main_source()))
    assert {"apiKeys", "cursorSecret", "telegramBotToken", "alertWebhookUrl"} <= secure
    assert secret_problems(app_settings, secure) == []
    assert {"API_KEYS", "CURSOR_SECRET", "TELEGRAM_BOT_TOKEN", "ALERT_WEBHOOK_URL"} <= set(
        app_settings
    )


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("API_KEYS", "apiKeys"),
        ("TELEGRAM_BOT_TOKEN", "'123456:abc'"),
        ("CURSOR_SECRET", "empty(x) ? 'plain' : '@Microsoft.KeyVault(SecretUri=${kv.uri})'"),
        ("ArchiveStorage", "'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc=='"),
        ("NOTE", "'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA'"),
    ],
)
def test_the_secret_check_catches_plain_secrets(name: str, source: str) -> None:
    settings = {name: {"kind": "string", "text": source, "literal": None}}
    assert secret_problems(settings, {"apiKeys"}) != []


def test_local_settings_example_maps_onto_app_settings(
    app_settings: dict[str, dict[str, Any]],
) -> None:
    local = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    unmapped = [n for n in local if n not in app_settings and n not in LOCAL_TO_AZURE]
    assert unmapped == []


def test_no_setting_flex_consumption_rejects(app_settings: dict[str, dict[str, Any]]) -> None:
    assert sorted(FLEX_FORBIDDEN & set(app_settings)) == []


def test_trust_client_principal_follows_app_service_authentication(
    app_settings: dict[str, dict[str, Any]],
) -> None:
    assert app_settings["TRUST_CLIENT_PRINCIPAL"]["text"] == (
        "empty(authClientId) ? 'false' : 'true'"
    )
    assert (
        "if (!empty(authClientId))"
        in (ROOT / "infra" / "bicep" / "modules" / "functionapp.bicep").read_text()
    )


def main_source() -> str:
    return (ROOT / "infra" / "bicep" / "main.bicep").read_text()
