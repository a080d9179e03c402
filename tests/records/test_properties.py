"""Properties over generated input: normalize fails only with RecordError, redaction is
idempotent and its RE2 triggers never miss what a rule would redact, and events round-trip."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

import orjson
import re2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared import records, redaction
from shared.access import Caller, Role
from shared.records import RecordError
from shared.settings import Settings
from tests.records.test_redaction import LOOK_ALIKES, SECRETS

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
SETTINGS = Settings()
CALLERS = [Caller("any", Role.INGEST), Caller("bound", Role.INGEST, service="svc")]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
"""What orjson reads from JSON; other integers are the subject of their own test."""

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
record_keys = st.sampled_from([*records.FIELDS, "msg", "host", "password"])
record_like = st.dictionaries(record_keys, json_values, max_size=10) | st.fixed_dictionaries(
    {"message": st.text(min_size=1, max_size=60)},
    optional={name: json_values for name in records.FIELDS if name != "message"},
)

FRAGMENTS = (
    [text for text, _ in SECRETS]
    + LOOK_ALIKES
    + [
        "=",
        ":",
        " ",
        "\n",
        '"',
        "'",
        "\\",
        "-",
        "[REDACTED]",
        "Bearer ",
        "password",
        "token",
        "4111",
        "1111",
        "://",
        "@",
        "==",
        "eyJ",
        ".",
    ]
)
texts = st.lists(
    st.sampled_from(FRAGMENTS) | st.text(alphabet=string.printable, max_size=12), max_size=8
).map("".join)


@PROPERTY
@given(raw=record_like | json_values, caller=st.sampled_from(CALLERS))
@example(raw={"id": None, "message": -(2**63) - 1}, caller=CALLERS[0])
@example(raw={"message": [2**64]}, caller=CALLERS[0])
def test_normalize_fails_only_with_record_error(raw: Any, caller: Caller) -> None:
    try:
        record = records.normalize(raw, caller, SETTINGS, NOW)
    except RecordError as exc:
        assert str(exc)
        return
    assert set(records.ALWAYS_PRESENT) <= set(record) <= {*records.FIELDS, records.REDACTED_COUNTS}
    assert None not in record.values()
    assert isinstance(record["message"], str) and record["message"].strip()
    assert record["level_no"] >= 10
    assert records.decode_event(records.encode(record))["id"] == record["id"]


@PROPERTY
@given(text=texts)
def test_redaction_is_idempotent(text: str) -> None:
    once = redaction.redact_text(text)
    assert redaction.redact_text(once) == once


_TRIGGERS = [re2.compile(rule.trigger) for rule in redaction.RULES]


@PROPERTY
@given(text=texts)
def test_a_rule_only_changes_text_its_trigger_fires_on(text: str) -> None:
    for rule, trigger in zip(redaction.RULES, _TRIGGERS, strict=True):
        if rule.redact(text) != text:
            assert trigger.search(text) is not None, rule.name


@PROPERTY
@given(
    case=st.sampled_from(SECRETS),
    before=st.text(alphabet=string.ascii_letters + " .,", max_size=20),
    after=st.text(alphabet=string.ascii_letters + " .,", max_size=20),
)
def test_a_secret_never_survives_its_surroundings(
    case: tuple[str, str], before: str, after: str
) -> None:
    text, secret = case
    assert secret not in redaction.redact_text(f"{before} {text} {after}")


@PROPERTY
@given(
    message=st.text(min_size=1).filter(str.strip),
    extra=st.dictionaries(
        st.text(max_size=10),
        st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False),
        max_size=5,
    ),
    when=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2026, 3, 14), timezones=st.just(UTC)
    ),
)
def test_events_round_trip(message: str, extra: dict[str, Any], when: datetime) -> None:
    raw = {"message": message, "extra_data": extra, "timestamp": when.isoformat()}
    record = records.normalize(raw, CALLERS[0], SETTINGS, NOW)
    decoded = records.decode_event(records.encode(record))
    assert decoded["timestamp"] == when
    assert decoded["timestamp"].isoformat(timespec="microseconds") == record["timestamp"]
    assert decoded["message"] == record["message"]
    assert decoded["extra_data"] == record["extra_data"]


@PROPERTY
@given(text=texts)
def test_the_screens_agree_with_each_rule_trigger(text: str) -> None:
    fired = [i for i, trigger in enumerate(_TRIGGERS) if trigger.search(text)]
    assert redaction.might_contain_secret(text) == bool(fired)
    assert redaction.might_contain_secret(text.encode()) == bool(fired)
    assert redaction.triggered(text) == fired


@PROPERTY
@given(texts=st.lists(texts, max_size=12))
@example(texts=["password=hunter2x9", "L1G"])  # a pattern that must follow a separator
def test_the_joined_screen_flags_every_body_the_single_screen_flags(texts: list[str]) -> None:
    bodies = [orjson.dumps({"message": text}) for text in texts]
    single = [i for i, body in enumerate(bodies) if redaction.might_contain_secret(body)]
    joined = records.needing_a_closer_look(bodies)
    assert joined == sorted(set(joined))
    assert set(single) <= set(joined)
    raw = [text.encode("utf-8", "surrogatepass") for text in texts]
    single_raw = [i for i, body in enumerate(raw) if redaction.might_contain_secret(body)]
    assert set(single_raw) <= set(records.needing_a_closer_look(raw))
