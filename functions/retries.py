"""Where an Event Hub-triggered invocation stands in the host's retry policy."""

import azure.functions as func


def attempt(context: func.Context) -> tuple[int, bool]:
    """(attempt number from 1, whether the runtime will retry no more)."""
    retry = getattr(context, "retry_context", None)
    if retry is None:
        return 1, True
    final = retry.max_retry_count >= 0 and retry.retry_count >= retry.max_retry_count
    return retry.retry_count + 1, final
