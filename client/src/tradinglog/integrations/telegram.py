"""Logs for a Telegram bot: interactions, responses and trading commands. Takes plain values,
so no Telegram library is needed."""

from __future__ import annotations

from typing import Any

from tradinglog.logger import BotLogger, get_logger

_log: BotLogger | None = None


def _logger() -> BotLogger:
    global _log
    if _log is None:
        _log = get_logger("telegram", "telegram-bot")
    return _log


def _shorten(text: str | None, limit: int = 200) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def log_interaction(
    user_id: int | str, chat_id: int | str, message_type: str, text: str | None = None, **extra: Any
) -> None:
    _logger().info(
        f"Telegram {message_type} from user {user_id}",
        event_type="telegram_interaction",
        user_id=str(user_id),
        chat_id=str(chat_id),
        message_type=message_type,
        text=_shorten(text),
        **extra,
    )


def log_response(
    user_id: int | str,
    chat_id: int | str,
    response_type: str,
    response_time_ms: float,
    **extra: Any,
) -> None:
    _logger().info(
        f"Telegram {response_type} sent to user {user_id}",
        event_type="telegram_response",
        user_id=str(user_id),
        chat_id=str(chat_id),
        response_type=response_type,
        response_time=response_time_ms,
        **extra,
    )


def log_trading_command(
    user_id: int | str, command: str, parameters: dict[str, Any] | None = None, **extra: Any
) -> None:
    _logger().signal_received(
        f"Trading command /{command} from user {user_id}",
        symbol=str((parameters or {}).get("symbol", "")),
        signal=command,
        user_id=str(user_id),
        command=command,
        parameters=parameters or {},
        event_type="telegram_trading_command",
        **extra,
    )
