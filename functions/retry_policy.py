"""The retry policy every Event Hub function declares with `@bp.retry(**EVENT_HUB_RETRY)`.

Event Hubs triggers take their retries from a function-level policy: without one the host
makes a single attempt, `retry_context.max_retry_count` is 0 and the first transient PostgreSQL
or Blob error would already be the final attempt. Twelve retries backing off from 1 s to 5 min
ride out about half an hour of outage before a batch is dead-lettered; meanwhile the partition
waits (its checkpoint does not move), so nothing is lost or reordered."""

EVENT_HUB_RETRY = {
    "strategy": "exponential_backoff",
    "max_retry_count": "12",
    "minimum_interval": "00:00:01",
    "maximum_interval": "00:05:00",
}
