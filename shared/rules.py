"""Alert rules: read from configuration, validated strictly, compiled once.

Rules come from the `ALERT_RULES` setting (JSON), else the file named by `ALERT_RULES_FILE`,
else `shared/default_rules.json`. A document is a list of rules, or an object
`{"rules": [...], "defaults": true, "disable": ["name", ...]}` that adds to (and by name
overrides) the default rules. Patterns use RE2 syntax: matching time is linear in the text,
so no pattern can backtrack catastrophically; backreferences and lookaround are refused.

    python -m shared.rules [FILE]     # check a rules file and list what it defines
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import orjson
import re2

from shared import fields, levels
from shared.settings import Settings

DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "default_rules.json"
MAX_PATTERN_CHARS = 2000
MAX_PROGRAM_BYTES = 8 << 20
"""RE2's memory budget per compiled set; a pattern that needs more is refused."""
SEVERITIES = ("info", "low", "medium", "warning", "high", "critical")
SEARCHABLE_FIELDS: tuple[str, ...] = fields.PATTERN_FIELDS
"""The record fields a pattern rule may match (the field table's `pattern` fields)."""
DEFAULT_PATTERN_FIELDS = ("message", "exception_type", "exception_message")

RuleType = Literal[
    "pattern",
    "error_rate",
    "slow_response",
    "silence",
    "sequence_gap",
    "secret_leak",
    "trade_stalled",
    "threshold",
]
THRESHOLD_FUNCTIONS = ("count", "sum", "avg", "min", "max")
THRESHOLD_OPERATORS = (">", ">=", "<", "<=", "=", "!=")
DEFAULT_THRESHOLD_WINDOW = 300

_COMMON = {
    "name",
    "type",
    "severity",
    "description",
    "action",
    "quiet_hours",
    "services",
    "enabled",
}
_FIELDS_BY_TYPE: dict[str, set[str]] = {
    "pattern": _COMMON | {"pattern", "fields", "min_level", "ignore_case"},
    "error_rate": _COMMON | {"threshold", "min_level", "window_seconds"},
    "slow_response": _COMMON | {"threshold_ms", "field"},
    "silence": _COMMON | {"minutes"},
    "sequence_gap": _COMMON | {"seq_field", "process_field"},
    "threshold": _COMMON | {"field", "fn", "window_seconds", "op", "value"},
    "secret_leak": _COMMON | {"threshold"},
    "trade_stalled": set(_COMMON),
}


class RuleError(ValueError):
    """A rule document that cannot be used; the message names the rule at fault."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    type: RuleType
    severity: str
    description: str
    action: str
    quiet_period: timedelta
    services: frozenset[str] | None = None
    pattern: str = ""
    fields: tuple[str, ...] = DEFAULT_PATTERN_FIELDS
    ignore_case: bool = True
    min_level_no: int = 0
    threshold: int = 0
    window_seconds: int = 60
    threshold_ms: float = 0.0
    field: str = "response_time"
    minutes: int = 0
    seq_field: str = "seq"
    process_field: str = "pid"
    path: tuple[str, ...] = ()
    """threshold: the extra_data path (from `field`, dots for nesting)."""
    fn: str = "avg"
    op: str = ">"
    value: float = 0.0

    def applies_to(self, service: str) -> bool:
        return self.services is None or service in self.services


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules: one RE2 set per searched field, so a record is matched against
    every pattern rule in one pass per field."""

    rules: tuple[Rule, ...]
    pattern_rules: tuple[Rule, ...] = ()
    field_sets: tuple[tuple[str, Any, tuple[Rule, ...]], ...] = ()
    """(field, compiled RE2 set, the rule behind each index of the set)."""
    error_rate: tuple[Rule, ...] = ()
    slow_response: tuple[Rule, ...] = ()
    silence: tuple[Rule, ...] = ()
    sequence_gap: tuple[Rule, ...] = ()
    threshold: tuple[Rule, ...] = ()
    secret_leak: tuple[Rule, ...] = ()
    trade_stalled: tuple[Rule, ...] = ()
    """Deadlines are the TRADE_DECISION_SECONDS / TRADE_EXECUTION_SECONDS settings."""
    by_name: dict[str, Rule] = field(default_factory=dict)

    @classmethod
    def compile(cls, rules: Sequence[Rule]) -> RuleSet:
        pattern_rules = tuple(r for r in rules if r.type == "pattern")
        field_sets = []
        for name in SEARCHABLE_FIELDS:
            members = tuple(r for r in pattern_rules if name in r.fields)
            if members:
                field_sets.append((name, _compile_set(members), members))
        return cls(
            rules=tuple(rules),
            pattern_rules=pattern_rules,
            field_sets=tuple(field_sets),
            error_rate=tuple(r for r in rules if r.type == "error_rate"),
            slow_response=tuple(r for r in rules if r.type == "slow_response"),
            silence=tuple(r for r in rules if r.type == "silence"),
            sequence_gap=tuple(r for r in rules if r.type == "sequence_gap"),
            threshold=tuple(r for r in rules if r.type == "threshold"),
            secret_leak=tuple(r for r in rules if r.type == "secret_leak"),
            trade_stalled=tuple(r for r in rules if r.type == "trade_stalled"),
            by_name={r.name: r for r in rules},
        )


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PROGRAM_BYTES
    return options


def _expression(rule: Rule) -> str:
    return f"(?i){rule.pattern}" if rule.ignore_case else rule.pattern


def _compile_set(members: Sequence[Rule]) -> Any:
    matcher = re2.Set.SearchSet(_options())
    for rule in members:
        matcher.Add(_expression(rule))
    matcher.Compile()
    return matcher


def _check_pattern(name: str, rule: Rule) -> None:
    if not rule.pattern:
        raise RuleError(f"rule {name!r}: a pattern rule needs a non-empty 'pattern'")
    if len(rule.pattern) > MAX_PATTERN_CHARS:
        raise RuleError(f"rule {name!r}: pattern longer than {MAX_PATTERN_CHARS} characters")
    try:
        re2.compile(_expression(rule), _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise RuleError(
            f"rule {name!r}: invalid pattern {rule.pattern!r}: {reason} "
            "(RE2 syntax: no backreferences or lookaround)"
        ) from None


def _level(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    canonical = levels.canonical(str(value)) if isinstance(value, str) else None
    if canonical is None:
        raise RuleError(f"rule {name!r}: unknown level {value!r}")
    return levels.number(canonical)


def _number(name: str, key: str, value: Any, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise RuleError(f"rule {name!r}: {key!r} must be a number of at least {minimum}")
    return value


def _text(name: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RuleError(f"rule {name!r}: {key!r} must be a string")
    return value


def parse_rule(raw: Any, index: int, settings: Settings) -> Rule | None:
    """One rule from its JSON object, with settings supplying the window defaults; None when
    the rule is disabled. Raises RuleError naming the rule."""
    if not isinstance(raw, Mapping):
        raise RuleError(f"rule #{index}: must be a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"rule #{index}: needs a 'name'")
    name = name.strip()
    kind = raw.get("type", "pattern")
    allowed = _FIELDS_BY_TYPE.get(kind) if isinstance(kind, str) else None
    if allowed is None:
        raise RuleError(
            f"rule {name!r}: unknown type {kind!r}; known: {', '.join(_FIELDS_BY_TYPE)}"
        )
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RuleError(
            f"rule {name!r}: unknown field(s) {', '.join(unknown)} for a {kind} rule; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    if raw.get("enabled", True) is False:
        return None
    severity = raw.get("severity", "medium")
    if severity not in SEVERITIES:
        raise RuleError(f"rule {name!r}: severity must be one of {', '.join(SEVERITIES)}")
    services = raw.get("services")
    if services is not None and (
        not isinstance(services, list) or not all(isinstance(s, str) for s in services)
    ):
        raise RuleError(f"rule {name!r}: 'services' must be a list of service names")
    quiet_hours = _number(
        name, "quiet_hours", raw.get("quiet_hours", settings.alert_quiet_hours), 0.001
    )
    options: dict[str, Any] = {}
    if kind == "pattern":
        fields = raw.get("fields", list(DEFAULT_PATTERN_FIELDS))
        if (
            not isinstance(fields, list)
            or not fields
            or any(f not in SEARCHABLE_FIELDS for f in fields)
        ):
            known = ", ".join(SEARCHABLE_FIELDS)
            raise RuleError(f"rule {name!r}: 'fields' must be a non-empty list of {known}")
        ignore_case = raw.get("ignore_case", True)
        if not isinstance(ignore_case, bool):
            raise RuleError(f"rule {name!r}: 'ignore_case' must be true or false")
        options.update(
            pattern=_text(name, "pattern", raw.get("pattern", "")),
            fields=tuple(dict.fromkeys(fields)),
            ignore_case=ignore_case,
            min_level_no=_level(name, raw["min_level"]) if "min_level" in raw else 0,
        )
    elif kind == "error_rate":
        options.update(
            threshold=int(
                _number(name, "threshold", raw.get("threshold", settings.error_rate_threshold), 1)
            ),
            min_level_no=_level(name, raw.get("min_level", "ERROR")),
            window_seconds=int(_number(name, "window_seconds", raw.get("window_seconds", 60), 1)),
        )
    elif kind == "slow_response":
        options.update(
            threshold_ms=float(
                _number(name, "threshold_ms", raw.get("threshold_ms", settings.slow_response_ms), 0)
            ),
            field=_text(name, "field", raw.get("field", "response_time")),
        )
    elif kind == "silence":
        options.update(
            minutes=int(_number(name, "minutes", raw.get("minutes", settings.silence_minutes), 1))
        )
    elif kind == "threshold":
        options.update(_threshold_options(name, raw))
    elif kind == "secret_leak":
        options.update(threshold=int(_number(name, "threshold", raw.get("threshold", 1), 1)))
    elif kind == "sequence_gap":
        options.update(
            seq_field=_text(name, "seq_field", raw.get("seq_field", "seq")),
            process_field=_text(name, "process_field", raw.get("process_field", "pid")),
        )
    rule = Rule(
        name=name,
        type=kind,  # type: ignore[arg-type]
        severity=severity,
        description=_text(name, "description", raw.get("description", "")),
        action=_text(name, "action", raw.get("action", "")),
        quiet_period=timedelta(hours=quiet_hours),
        services=frozenset(services) if services is not None else None,
        **options,
    )
    if kind == "pattern":
        _check_pattern(name, rule)
    return rule


def _threshold_options(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    field_name = _text(name, "field", raw.get("field"))
    keys = tuple(field_name.split("."))
    if not field_name or not all(keys):
        raise RuleError(f"rule {name!r}: 'field' must be an extra_data path (dots for nesting)")
    fn = raw.get("fn", "avg")
    if fn not in THRESHOLD_FUNCTIONS:
        raise RuleError(f"rule {name!r}: 'fn' must be one of {', '.join(THRESHOLD_FUNCTIONS)}")
    op = raw.get("op", ">")
    if op not in THRESHOLD_OPERATORS:
        raise RuleError(f"rule {name!r}: 'op' must be one of {', '.join(THRESHOLD_OPERATORS)}")
    if "value" not in raw:
        raise RuleError(f"rule {name!r}: a threshold rule needs a 'value'")
    window = raw.get("window_seconds", DEFAULT_THRESHOLD_WINDOW)
    return {
        "field": field_name,
        "path": keys,
        "fn": fn,
        "op": op,
        "value": float(_number(name, "value", raw["value"], float("-inf"))),
        "window_seconds": int(_number(name, "window_seconds", window, 1)),
    }


def _document(text: str | bytes, source: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RuleError(f"alert rules in {source} are not valid JSON: {exc}") from None


def _rule_list(document: Any, source: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, Mapping) and isinstance(document.get("rules"), list):
        return document["rules"]
    raise RuleError(f"alert rules in {source} must be a list or an object with a 'rules' list")


def parse_rules(raws: Iterable[Any], settings: Settings) -> list[Rule]:
    rules: dict[str, Rule] = {}
    for i, raw in enumerate(raws):
        rule = parse_rule(raw, i, settings)
        if rule is None:
            continue
        if rule.name in rules:
            raise RuleError(f"rule {rule.name!r}: defined twice")
        rules[rule.name] = rule
    return list(rules.values())


def default_rules(settings: Settings) -> list[Rule]:
    document = _document(DEFAULT_RULES_FILE.read_bytes(), str(DEFAULT_RULES_FILE))
    return parse_rules(_rule_list(document, str(DEFAULT_RULES_FILE)), settings)


def rules_from_document(document: Any, source: str, settings: Settings) -> list[Rule]:
    """The rules a configuration document defines, merged with the defaults when it asks."""
    own = parse_rules(_rule_list(document, source), settings)
    if not isinstance(document, Mapping):
        return own
    unknown = sorted(set(document) - {"rules", "defaults", "disable"})
    if unknown:
        raise RuleError(f"alert rules in {source}: unknown key(s) {', '.join(unknown)}")
    if document.get("defaults", True) is False:
        return own
    disabled = document.get("disable", [])
    if not isinstance(disabled, list):
        raise RuleError(f"alert rules in {source}: 'disable' must be a list of rule names")
    merged = {r.name: r for r in default_rules(settings) if r.name not in disabled}
    merged.update({r.name: r for r in own})
    return list(merged.values())


def load(settings: Settings) -> RuleSet:
    """The configured rules, compiled. Raises RuleError with a message naming the rule."""
    if settings.alert_rules_json:
        rules = rules_from_document(
            _document(settings.alert_rules_json, "ALERT_RULES"), "ALERT_RULES", settings
        )
    elif settings.alert_rules_file:
        path = Path(settings.alert_rules_file)
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise RuleError(f"cannot read ALERT_RULES_FILE {path}: {exc.strerror}") from None
        rules = rules_from_document(_document(text, str(path)), str(path), settings)
    else:
        rules = default_rules(settings)
    return RuleSet.compile(rules)


def main(argv: list[str]) -> int:
    from dataclasses import replace

    from shared.settings import get_settings

    settings = get_settings()
    if argv:
        settings = replace(settings, alert_rules_file=argv[0], alert_rules_json="")
    try:
        ruleset = load(settings)
    except RuleError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    for rule in ruleset.rules:
        print(f"{rule.name:28} {rule.type:14} {rule.severity}")
    print(f"{len(ruleset.rules)} rule(s) ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
