"""Rule documents: validated strictly at load, merged with the defaults, compiled once."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from shared import rules
from shared.settings import Settings


def load(document: object, **overrides: object) -> rules.RuleSet:
    settings = replace(Settings(), alert_rules_json=orjson.dumps(document).decode(), **overrides)
    return rules.load(settings)


def test_defaults_are_the_six_patterns_and_the_windowed_rules() -> None:
    ruleset = rules.load(Settings())
    assert len(ruleset.pattern_rules) == 6
    assert [r.name for r in ruleset.error_rate] == ["error_rate"]
    assert ruleset.error_rate[0].threshold == 10
    assert ruleset.slow_response[0].threshold_ms == 5000
    assert ruleset.silence[0].minutes == 10
    for rule in ruleset.rules:
        assert rule.severity in rules.SEVERITIES
        assert rule.description and rule.action, rule.name


def test_settings_supply_the_window_defaults() -> None:
    settings = replace(Settings(), error_rate_threshold=3, slow_response_ms=250, silence_minutes=2)
    ruleset = rules.load(settings)
    assert ruleset.error_rate[0].threshold == 3
    assert ruleset.slow_response[0].threshold_ms == 250
    assert ruleset.silence[0].minutes == 2


def test_invalid_regex_is_refused_naming_the_rule() -> None:
    with pytest.raises(rules.RuleError, match=r"'broken_rule'.*missing \)"):
        load([{"name": "broken_rule", "pattern": "connection (refused"}])


def test_unknown_field_is_refused_naming_the_rule() -> None:
    with pytest.raises(rules.RuleError, match=r"'typo_rule'.*unknown field.*treshold"):
        load([{"name": "typo_rule", "type": "error_rate", "treshold": 5}])


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "r", "type": "nope"}, "unknown type"),
        ({"name": "r", "pattern": "x", "severity": "urgent"}, "severity"),
        ({"name": "r", "pattern": "x", "min_level": "LOUD"}, "unknown level"),
        ({"name": "r", "pattern": "x", "fields": ["password"]}, "fields"),
        ({"name": "r", "type": "error_rate", "threshold": 0}, "threshold"),
        ({"name": "r", "pattern": ""}, "non-empty"),
        ({"pattern": "x"}, "needs a 'name'"),
    ],
)
def test_bad_rule_values_are_refused(rule: dict[str, object], message: str) -> None:
    with pytest.raises(rules.RuleError, match=message):
        load([rule])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(rules.RuleError, match=r"'twice'.*defined twice"):
        load([{"name": "twice", "pattern": "a"}, {"name": "twice", "pattern": "b"}])


def test_backreferences_and_lookaround_are_refused() -> None:
    with pytest.raises(rules.RuleError, match="'backref'"):
        load([{"name": "backref", "pattern": r"(\w+) \1"}])
    with pytest.raises(rules.RuleError, match="'lookahead'"):
        load([{"name": "lookahead", "pattern": r"order(?= failed)"}])


def test_oversized_repetition_is_refused() -> None:
    with pytest.raises(rules.RuleError, match=r"'huge'.*repetition"):
        load([{"name": "huge", "pattern": "((a{1,100}){1,100}){1,100}"}])


def test_catastrophic_pattern_is_bounded_by_linear_matching() -> None:
    """`(a+)+$` backtracks exponentially in a backtracking engine on 'aaa...!'; RE2 matches it
    in one linear pass, so the rule is accepted and evaluates correctly."""
    ruleset = load([{"name": "evil", "pattern": "^(a+)+$"}])
    _, matcher, members = ruleset.field_sets[0]
    assert not matcher.Match("a" * 100_000 + "!")
    assert [members[i].name for i in matcher.Match("a" * 100_000)] == ["evil"]


def test_object_document_extends_defaults_and_can_disable() -> None:
    ruleset = load(
        {
            "rules": [{"name": "margin", "pattern": "liquidation", "severity": "critical"}],
            "disable": ["rate_limited"],
        }
    )
    names = {r.name for r in ruleset.rules}
    assert "margin" in names and "exchange_connection" in names
    assert "rate_limited" not in names


def test_a_list_replaces_the_defaults() -> None:
    ruleset = load([{"name": "only", "pattern": "x"}])
    assert [r.name for r in ruleset.rules] == ["only"]


def test_rules_file_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.json"
    path.write_text('[{"name": "from_file", "pattern": "boom", "quiet_hours": 2}]')
    ruleset = rules.load(replace(Settings(), alert_rules_file=str(path)))
    assert ruleset.rules[0].name == "from_file"
    assert ruleset.rules[0].quiet_period.total_seconds() == 7200


def test_missing_rules_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(rules.RuleError, match="cannot read ALERT_RULES_FILE"):
        rules.load(replace(Settings(), alert_rules_file=str(tmp_path / "absent.json")))


def test_check_command_reports_the_rule(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.json"
    path.write_text('[{"name": "bad_one", "pattern": "(("}]')
    assert rules.main([str(path)]) == 1
    assert "bad_one" in capsys.readouterr().err


def test_a_pattern_past_the_memory_budget_is_refused() -> None:
    with pytest.raises(rules.RuleError, match=r"'enormous'.*too large"):
        load([{"name": "enormous", "pattern": r"\pL{1000}\pL{1000}\pL{1000}"}])
