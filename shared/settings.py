"""The one typed settings object, read once from the environment.

Locally the environment is filled from `local.settings.json` (`Values`) by the dev host;
in Azure it is the Function App's app settings. Every setting has a safe local default
listed in `local.settings.example.json`.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name} must be a number, got {raw!r}") from exc


def _str(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, "").strip() or default


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _paths(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of dotted paths (`signal_id`, `order.signal_id`)."""
    paths = _list(env, name)
    for path in paths:
        if any(not part.strip() for part in path.split(".")):
            raise ValueError(f"setting {name}: {path!r} is not a field or dotted path")
    return paths


def _json(env: Mapping[str, str], name: str, default: Any) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"setting {name} must be JSON: {exc}") from exc


def _signalr_endpoint(env: Mapping[str, str]) -> tuple[str, ...]:
    """The SignalR Service endpoint from its connection string or identity-based setting."""
    uri = _str(env, "AzureSignalRConnectionString__serviceUri")
    for part in env.get("AzureSignalRConnectionString", "").split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "endpoint" and value.strip():
            uri = value.strip()
    return (uri,) if uri else ()


DEFAULT_RETENTION_DAYS: dict[str, int] = {
    "DEBUG": 7,
    "INFO": 30,
    "SIGNAL_RECEIVED": 90,
    "AI_DECISION": 90,
    "WARNING": 90,
    "TRADE_EXECUTED": 365,
    "RISK_ALERT": 365,
    "ERROR": 365,
    "CRITICAL": 365,
}


@dataclass(frozen=True, slots=True)
class Connection:
    """An Azure service connection in the Functions convention: a connection string, or
    identity-based settings under `NAME__...` (serviceUri / fullyQualifiedNamespace,
    credential, clientId)."""

    name: str
    connection_string: str = ""
    service_uri: str = ""
    fully_qualified_namespace: str = ""
    client_id: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str], name: str) -> Connection:
        return cls(
            name=name,
            connection_string=_str(env, name),
            service_uri=_str(env, f"{name}__serviceUri") or _str(env, f"{name}__blobServiceUri"),
            fully_qualified_namespace=_str(env, f"{name}__fullyQualifiedNamespace"),
            client_id=_str(env, f"{name}__clientId"),
        )

    @property
    def configured(self) -> bool:
        return bool(self.connection_string or self.service_uri or self.fully_qualified_namespace)


@dataclass(frozen=True)
class Settings:
    # Ingest limits
    max_message_bytes: int = 32 * 1024
    max_extra_data_bytes: int = 64 * 1024
    max_request_bytes: int = 1024 * 1024
    max_records_per_request: int = 1000
    max_future_seconds: int = 24 * 3600

    # Access control: JSON list of {"name","hash","role","service","services"}
    api_keys: tuple[dict[str, Any], ...] = ()
    cors_allowed_origins: tuple[str, ...] = ()

    # Read API: cursor signing key (Key Vault in Azure), query time limit, export chunk size
    cursor_secret: str = "dev-cursor-secret-change-me"
    search_timeout_seconds: float = 10.0
    export_chunk_rows: int = 2000
    export_max_bytes: int = 64 * 1024 * 1024
    # Field discovery (GET /logs/fields): the newest records examined
    fields_sample_rows: int = 20_000

    # Redaction: salt of the fingerprints that replace ids holding a secret
    redaction_salt: str = ""

    # Key refresh: how often API_KEYS is read again (from KEYS_FILE or the Key Vault secret at
    # KEYS_VAULT_URI when set), so a revoked key stops working without a restart
    keys_refresh_seconds: float = 60.0
    keys_file: str = ""
    keys_vault_uri: str = ""

    # Event Hubs
    eventhub_connection: Connection = field(
        default_factory=lambda: Connection(name="EventHubConnection")
    )
    eventhub_name: str = "logs"
    store_consumer_group: str = "postgres"
    archive_consumer_group: str = "archive"
    analyze_consumer_group: str = "analyzer"
    stream_consumer_group: str = "live"
    # The ingest producer: a send's time limit (then 503), the SDK's retries, its connections
    eventhub_send_timeout_seconds: float = 10.0
    eventhub_retry_total: int = 3
    eventhub_retry_backoff_seconds: float = 0.8
    eventhub_retry_backoff_max_seconds: float = 4.0
    eventhub_producer_connections: int = 4

    # PostgreSQL: a URL locally; host/database/user with a Microsoft Entra token in Azure
    database_url: str = ""
    postgres_host: str = ""
    postgres_database: str = "logs"
    postgres_user: str = ""
    postgres_pool_min: int = 1
    postgres_pool_max: int = 10
    postgres_days_ahead: int = 3
    postgres_command_timeout: float = 30.0

    # Blob Storage
    storage_connection: Connection = field(
        default_factory=lambda: Connection(name="ArchiveStorage")
    )
    archive_container: str = "archive"
    deadletter_container: str = "deadletter"
    reports_container: str = "reports"
    archive_compression_level: int = 6
    final_attempt_hold_seconds: float = 240.0
    """On a batch's final attempt, how long a sink keeps trying (see shared.sink_policy)."""
    blob_retry_total: int = 2
    blob_retry_backoff_seconds: float = 0.5

    # SignalR
    signalr_hub: str = "logs"
    signalr_max_message_bytes: int = 900 * 1024

    # Dashboard: build directory (default dashboard/dist) and extra origins the page may reach
    dashboard_dist_dir: str = ""
    dashboard_connect_sources: tuple[str, ...] = ()

    # Analysis and alerts
    alert_rules_file: str = ""
    alert_rules_json: str = ""
    error_rate_threshold: int = 10
    slow_response_ms: float = 5000.0
    silence_minutes: int = 10
    alert_quiet_hours: float = 24.0
    alert_webhook_url: str = ""
    telegram_bot_token: str = ""
    telegram_chat_id: str = ""
    notify_min_interval_seconds: int = 300

    # Reports, retention, monitoring
    retention_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RETENTION_DAYS))
    retention_batch_rows: int = 10_000
    appinsights_workspace_id: str = ""
    report_schedule: str = "0 5 * * * *"
    report_catchup_hours: int = 48
    report_notify: bool = False
    retention_schedule: str = "0 30 2 * * *"
    retention_budget_seconds: float = 480.0
    notify_queue_size: int = 1000
    notify_timeout_seconds: float = 10.0
    notify_max_attempts: int = 6
    telegram_api_url: str = "https://api.telegram.org"

    # Trade chains: where a chain key is read, and how long a chain waits for its next stage
    trade_key_fields: tuple[str, ...] = ("signal_id", "request_id")
    trade_decision_seconds: float = 30.0
    trade_execution_seconds: float = 60.0

    # Deployment
    trust_client_principal: bool = False
    azure_client_id: str = ""
    public_base_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        retention = dict(DEFAULT_RETENTION_DAYS)
        retention.update({k.upper(): int(v) for k, v in _json(env, "RETENTION_DAYS", {}).items()})
        keys = _json(env, "API_KEYS", [])
        if not isinstance(keys, list):
            raise ValueError("setting API_KEYS must be a JSON list")
        return cls(
            max_message_bytes=_int(env, "MAX_MESSAGE_BYTES", cls.max_message_bytes),
            max_extra_data_bytes=_int(env, "MAX_EXTRA_DATA_BYTES", cls.max_extra_data_bytes),
            max_request_bytes=_int(env, "MAX_REQUEST_BYTES", cls.max_request_bytes),
            max_records_per_request=_int(
                env, "MAX_RECORDS_PER_REQUEST", cls.max_records_per_request
            ),
            max_future_seconds=_int(env, "MAX_FUTURE_SECONDS", cls.max_future_seconds),
            api_keys=tuple(keys),
            cors_allowed_origins=_list(env, "CORS_ALLOWED_ORIGINS"),
            cursor_secret=_str(env, "CURSOR_SECRET", cls.cursor_secret),
            search_timeout_seconds=_float(
                env, "SEARCH_TIMEOUT_SECONDS", cls.search_timeout_seconds
            ),
            export_chunk_rows=_int(env, "EXPORT_CHUNK_ROWS", cls.export_chunk_rows),
            export_max_bytes=_int(env, "EXPORT_MAX_BYTES", cls.export_max_bytes),
            fields_sample_rows=_int(env, "FIELDS_SAMPLE_ROWS", cls.fields_sample_rows),
            redaction_salt=_str(env, "REDACTION_SALT"),
            keys_refresh_seconds=_float(env, "KEYS_REFRESH_SECONDS", cls.keys_refresh_seconds),
            keys_file=_str(env, "KEYS_FILE"),
            keys_vault_uri=_str(env, "KEYS_VAULT_URI"),
            eventhub_connection=Connection.from_env(env, "EventHubConnection"),
            eventhub_name=_str(env, "EVENTHUB_NAME", cls.eventhub_name),
            store_consumer_group=_str(env, "STORE_CONSUMER_GROUP", cls.store_consumer_group),
            archive_consumer_group=_str(env, "ARCHIVE_CONSUMER_GROUP", cls.archive_consumer_group),
            analyze_consumer_group=_str(env, "ANALYZE_CONSUMER_GROUP", cls.analyze_consumer_group),
            stream_consumer_group=_str(env, "STREAM_CONSUMER_GROUP", cls.stream_consumer_group),
            eventhub_send_timeout_seconds=_float(
                env, "EVENTHUB_SEND_TIMEOUT_SECONDS", cls.eventhub_send_timeout_seconds
            ),
            eventhub_retry_total=_int(env, "EVENTHUB_RETRY_TOTAL", cls.eventhub_retry_total),
            eventhub_retry_backoff_seconds=_float(
                env, "EVENTHUB_RETRY_BACKOFF_SECONDS", cls.eventhub_retry_backoff_seconds
            ),
            eventhub_retry_backoff_max_seconds=_float(
                env, "EVENTHUB_RETRY_BACKOFF_MAX_SECONDS", cls.eventhub_retry_backoff_max_seconds
            ),
            eventhub_producer_connections=_int(
                env, "EVENTHUB_PRODUCER_CONNECTIONS", cls.eventhub_producer_connections
            ),
            database_url=_str(env, "DATABASE_URL"),
            postgres_host=_str(env, "POSTGRES_HOST"),
            postgres_database=_str(env, "POSTGRES_DATABASE", cls.postgres_database),
            postgres_user=_str(env, "POSTGRES_USER"),
            postgres_pool_min=_int(env, "POSTGRES_POOL_MIN", cls.postgres_pool_min),
            postgres_pool_max=_int(env, "POSTGRES_POOL_MAX", cls.postgres_pool_max),
            postgres_days_ahead=_int(env, "POSTGRES_DAYS_AHEAD", cls.postgres_days_ahead),
            postgres_command_timeout=_float(
                env, "POSTGRES_COMMAND_TIMEOUT", cls.postgres_command_timeout
            ),
            storage_connection=Connection.from_env(env, "ArchiveStorage"),
            archive_container=_str(env, "ARCHIVE_CONTAINER", cls.archive_container),
            deadletter_container=_str(env, "DEADLETTER_CONTAINER", cls.deadletter_container),
            reports_container=_str(env, "REPORTS_CONTAINER", cls.reports_container),
            archive_compression_level=_int(
                env, "ARCHIVE_COMPRESSION_LEVEL", cls.archive_compression_level
            ),
            final_attempt_hold_seconds=_float(
                env, "FINAL_ATTEMPT_HOLD_SECONDS", cls.final_attempt_hold_seconds
            ),
            blob_retry_total=_int(env, "BLOB_RETRY_TOTAL", cls.blob_retry_total),
            blob_retry_backoff_seconds=_float(
                env, "BLOB_RETRY_BACKOFF_SECONDS", cls.blob_retry_backoff_seconds
            ),
            signalr_hub=_str(env, "SIGNALR_HUB", cls.signalr_hub),
            signalr_max_message_bytes=_int(
                env, "SIGNALR_MAX_MESSAGE_BYTES", cls.signalr_max_message_bytes
            ),
            dashboard_dist_dir=_str(env, "DASHBOARD_DIST_DIR"),
            dashboard_connect_sources=_list(env, "DASHBOARD_CONNECT_SOURCES")
            + _signalr_endpoint(env),
            alert_rules_file=_str(env, "ALERT_RULES_FILE"),
            alert_rules_json=_str(env, "ALERT_RULES"),
            error_rate_threshold=_int(env, "ERROR_RATE_THRESHOLD", cls.error_rate_threshold),
            slow_response_ms=_float(env, "SLOW_RESPONSE_MS", cls.slow_response_ms),
            silence_minutes=_int(env, "SILENCE_MINUTES", cls.silence_minutes),
            alert_quiet_hours=_float(env, "ALERT_QUIET_HOURS", cls.alert_quiet_hours),
            alert_webhook_url=_str(env, "ALERT_WEBHOOK_URL"),
            telegram_bot_token=_str(env, "TELEGRAM_BOT_TOKEN"),
            telegram_chat_id=_str(env, "TELEGRAM_CHAT_ID"),
            notify_min_interval_seconds=_int(
                env, "NOTIFY_MIN_INTERVAL_SECONDS", cls.notify_min_interval_seconds
            ),
            retention_days=retention,
            retention_batch_rows=_int(env, "RETENTION_BATCH_ROWS", cls.retention_batch_rows),
            appinsights_workspace_id=_str(env, "APPINSIGHTS_WORKSPACE_ID"),
            report_schedule=_str(env, "REPORT_SCHEDULE", cls.report_schedule),
            report_catchup_hours=_int(env, "REPORT_CATCHUP_HOURS", cls.report_catchup_hours),
            report_notify=_str(env, "REPORT_NOTIFY").lower() in ("1", "true", "yes"),
            retention_schedule=_str(env, "RETENTION_SCHEDULE", cls.retention_schedule),
            retention_budget_seconds=_float(
                env, "RETENTION_BUDGET_SECONDS", cls.retention_budget_seconds
            ),
            notify_queue_size=_int(env, "NOTIFY_QUEUE_SIZE", cls.notify_queue_size),
            notify_timeout_seconds=_float(
                env, "NOTIFY_TIMEOUT_SECONDS", cls.notify_timeout_seconds
            ),
            notify_max_attempts=_int(env, "NOTIFY_MAX_ATTEMPTS", cls.notify_max_attempts),
            telegram_api_url=_str(env, "TELEGRAM_API_URL", cls.telegram_api_url),
            trade_key_fields=_paths(env, "TRADE_KEY_FIELDS") or cls.trade_key_fields,
            trade_decision_seconds=_float(
                env, "TRADE_DECISION_SECONDS", cls.trade_decision_seconds
            ),
            trade_execution_seconds=_float(
                env, "TRADE_EXECUTION_SECONDS", cls.trade_execution_seconds
            ),
            trust_client_principal=_str(env, "TRUST_CLIENT_PRINCIPAL").lower()
            in ("1", "true", "yes"),
            azure_client_id=_str(env, "AZURE_CLIENT_ID"),
            public_base_url=_str(env, "PUBLIC_BASE_URL"),
        )

    @classmethod
    def setting_names(cls) -> list[str]:
        """Names of the scalar settings as environment variables (for docs and infra checks)."""
        return [f.name.upper() for f in fields(cls)]


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (the dev host and tests change the environment)."""
    get_settings.cache_clear()
