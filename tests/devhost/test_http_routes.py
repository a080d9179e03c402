import pytest

from devhost.http import _specificity, aiohttp_path


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("logs", "/api/logs"),
        ("logs/{id}", "/api/logs/{id}"),
        ("dashboard/{*path}", "/api/dashboard/{path:.*}"),
        ("items/{n:int}", "/api/items/{n}"),
    ],
)
def test_route_templates_become_aiohttp_paths(template: str, path: str) -> None:
    assert aiohttp_path("api", template) == path


def test_literal_routes_win_over_parameters() -> None:
    templates = ["logs/{id}", "dashboard/{*path}", "logs/search", "logs"]
    assert sorted(templates, key=_specificity) == [
        "logs/search",
        "logs",
        "logs/{id}",
        "dashboard/{*path}",
    ]
