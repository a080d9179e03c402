"""The PostgreSQL connection budget in main.bicep, evaluated from the Bicep itself:

    instances x POSTGRES_POOL_MAX <= max_connections - 15 (Azure's own) - headroom

Every Function App instance may hold a full pool (the HTTP group alone scales to the app's
maximum), so the budget is taken over the maximum instance count."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from shared.settings import Settings

# Azure Database for PostgreSQL flexible server: default max_connections by compute size, and
# the connections it keeps for itself (docs: "Limits", maximum connections).
AZURE_MAX_CONNECTIONS = {
    "Standard_B1ms": 50,
    "Standard_B2s": 429,
    "Standard_B2ms": 859,
    "Standard_B4ms": 1718,
    "Standard_D2s_v3": 859,
    "Standard_D4s_v3": 1718,
    "Standard_E2s_v3": 1718,
}
AZURE_RESERVED = 15
BUDGET_VARIABLES = ("postgresAppConnections", "postgresPoolMax")
ARITHMETIC = (
    ast.Expression,
    ast.BinOp,
    ast.Sub,
    ast.Add,
    ast.FloorDiv,
    ast.Name,
    ast.Load,
    ast.Call,
    ast.Constant,
)


def bicep_int_expression(source: str, names: dict[str, int]) -> int:
    """Evaluate a Bicep integer expression of names, numbers, + - / and min() (Bicep's `/` on
    integers truncates, as Python's // does on the non-negative values here)."""
    try:
        tree = ast.parse(source.replace("/", "//"), mode="eval")
    except SyntaxError as exc:
        raise AssertionError(f"not plain integer arithmetic: {source!r}") from exc
    for node in ast.walk(tree):
        if not isinstance(node, ARITHMETIC):
            raise AssertionError(f"not plain integer arithmetic: {source!r}")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id == "min"
        ):
            raise AssertionError(f"only min() is expected in {source!r}")
    return int(eval(compile(tree, "<bicep>", "eval"), {"min": min}, dict(names)))


def param_default(main_bicep: dict[str, Any], name: str) -> str:
    return main_bicep["params"][name]["default"]


def int_param(main_bicep: dict[str, Any], name: str) -> int:
    return int(param_default(main_bicep, name))


def pool_for(main_bicep: dict[str, Any], sku: str, instances: int, **overrides: int) -> int:
    """postgresPoolMax as main.bicep computes it for these parameters."""
    sku_table = {
        k: int(v["text"]) for k, v in main_bicep["objects"]["postgresSkuMaxConnections"].items()
    }
    expressions = main_bicep["expressions"]
    names: dict[str, int] = {
        "functionMaximumInstanceCount": instances,
        "postgresPoolCap": int_param(main_bicep, "postgresPoolCap"),
        "postgresConnectionHeadroom": int_param(main_bicep, "postgresConnectionHeadroom"),
        "postgresReservedConnections": int(expressions["postgresReservedConnections"]),
        **overrides,
    }
    given = overrides.get("postgresMaxConnections", 0)
    assert expressions["postgresServerConnections"] == (
        "postgresMaxConnections > 0 ? postgresMaxConnections"
        " : postgresSkuMaxConnections[postgresSkuName]"
    )
    names["postgresServerConnections"] = given if given > 0 else sku_table[sku]
    for variable in BUDGET_VARIABLES:
        names[variable] = bicep_int_expression(expressions[variable], names)
    return names["postgresPoolMax"]


def test_the_default_deployment_keeps_to_the_budget(main_bicep: dict[str, Any]) -> None:
    instances = int_param(main_bicep, "functionMaximumInstanceCount")
    sku = param_default(main_bicep, "postgresSkuName").strip("'")
    headroom = int_param(main_bicep, "postgresConnectionHeadroom")
    pool = pool_for(main_bicep, sku, instances)
    server = AZURE_MAX_CONNECTIONS[sku]
    assert pool >= 1, f"{sku} cannot give {instances} instances a connection each"
    assert instances * pool <= server - AZURE_RESERVED - headroom
    assert pool <= Settings().postgres_pool_max


@pytest.mark.parametrize("sku", sorted(AZURE_MAX_CONNECTIONS))
@pytest.mark.parametrize("instances", [40, 100, 250, 1000])
def test_every_size_either_keeps_to_the_budget_or_is_refused(
    main_bicep: dict[str, Any], bicep_facts: dict[str, Any], sku: str, instances: int
) -> None:
    headroom = int_param(main_bicep, "postgresConnectionHeadroom")
    pool = pool_for(main_bicep, sku, instances)
    if pool >= 1:
        assert instances * pool <= AZURE_MAX_CONNECTIONS[sku] - AZURE_RESERVED - headroom
    else:
        module = bicep_facts["files"]["modules/functionapp.bicep"]["params"]["postgresPoolMax"]
        assert "@minValue(1)" in module["decorators"], "a pool under 1 must stop the deployment"


def test_a_raised_max_connections_is_what_the_budget_uses(main_bicep: dict[str, Any]) -> None:
    assert pool_for(main_bicep, "Standard_B1ms", 40) == 0
    assert pool_for(main_bicep, "Standard_B1ms", 40, postgresMaxConnections=200) == 4


def test_the_sku_table_matches_azure(main_bicep: dict[str, Any]) -> None:
    table = main_bicep["objects"]["postgresSkuMaxConnections"]
    assert {k: int(table[k]["text"]) for k in AZURE_MAX_CONNECTIONS} == AZURE_MAX_CONNECTIONS
    assert int(main_bicep["expressions"]["postgresReservedConnections"]) == AZURE_RESERVED


def test_the_app_gets_the_budgeted_pool_and_instance_cap(
    main_bicep: dict[str, Any], app_settings: dict[str, dict[str, Any]]
) -> None:
    assert app_settings["POSTGRES_POOL_MAX"]["text"] == "string(postgresPoolMax)"
    values = main_bicep["modules"]["functionApp"]["values"]
    assert values["maximumInstanceCount"] == "functionMaximumInstanceCount"
    assert values["postgresPoolMax"] == "postgresPoolMax"


def test_the_arithmetic_reader_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(AssertionError):
        bicep_int_expression("a > 0 ? a : b", {"a": 1, "b": 2})
    assert bicep_int_expression("min(10, (a - 15 - 5) / b)", {"a": 429, "b": 40}) == 10
