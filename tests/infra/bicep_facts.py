"""Facts about the Bicep files, for the infra tests: parse errors by tree-sitter-bicep and by
pycep-parser, resources with their API versions, module parameters and outputs, main.bicep's
app settings and literal variables, and azure.yaml. Runs in the infra tool environment
(.venv-infra), since those parsers are not the app's dependencies; prints one JSON document.

    .venv-infra/bin/python tests/infra/bicep_facts.py infra/bicep [azure.yaml]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import tree_sitter
import tree_sitter_bicep
import yaml
from pycep import BicepParser

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))
PYCEP = BicepParser()
SKIP_COMMENT = re.compile(r"checkov:skip=([A-Za-z0-9_]+)(?::(.*))?")


def text(node: tree_sitter.Node) -> str:
    return node.text.decode() if node.text is not None else ""


def string_value(node: tree_sitter.Node) -> str | None:
    """The value of a string literal without interpolation, else None."""
    if node.type != "string" or any(c.type == "interpolation" for c in node.named_children):
        return None
    return "".join(text(c) for c in node.named_children if c.type == "string_content")


def syntax_errors(node: tree_sitter.Node) -> list[str]:
    found: list[str] = []
    if node.type == "ERROR" or node.is_missing:
        row, column = node.start_point
        found.append(f"line {row + 1}, column {column + 1}: {node.type} {text(node)[:60]!r}")
    for child in node.children:
        found.extend(syntax_errors(child))
    return found


def pycep_error(source: str) -> str | None:
    try:
        PYCEP.parse(text=source)
    except Exception as exc:  # any parser failure is the finding
        return f"{type(exc).__name__}: {str(exc)[:400]}"
    return None


def key_of(node: tree_sitter.Node) -> str:
    return string_value(node) if node.type == "string" else text(node)  # type: ignore[return-value]


def decorators_of(node: tree_sitter.Node) -> list[str]:
    """The decorators written above a declaration, as text (`@minValue(1)`)."""
    previous = node.prev_named_sibling
    if previous is None or previous.type != "decorators":
        return []
    return [text(d) for d in previous.named_children if d.type == "decorator"]


def object_entries(node: tree_sitter.Node) -> dict[str, tree_sitter.Node]:
    entries: dict[str, tree_sitter.Node] = {}
    for prop in node.named_children:
        if prop.type == "object_property":
            key, value = prop.named_children[0], prop.named_children[-1]
            entries[key_of(key)] = value
    return entries


def describe(node: tree_sitter.Node) -> dict[str, Any]:
    return {"kind": node.type, "text": text(node), "literal": string_value(node)}


def literal(node: tree_sitter.Node) -> Any:
    if node.type == "string":
        return string_value(node)
    if node.type == "array":
        return [literal(c) for c in node.named_children if c.type != "comment"]
    return None


def file_facts(path: Path, root: Path) -> dict[str, Any]:
    source = path.read_bytes()
    tree = PARSER.parse(source)
    facts: dict[str, Any] = {
        "tree_sitter_errors": syntax_errors(tree.root_node),
        "pycep_error": pycep_error(source.decode()),
        "resources": [],
        "params": {},
        "outputs": [],
        "modules": {},
        "variables": {},
        "expressions": {},
        "objects": {},
        "skips": [],
    }
    for line_no, line in enumerate(source.decode().splitlines(), 1):
        for match in SKIP_COMMENT.finditer(line):
            facts["skips"].append(
                {"check": match.group(1), "reason": (match.group(2) or "").strip(), "line": line_no}
            )
    for node in tree.root_node.named_children:
        if node.type == "resource_declaration":
            spec = string_value(node.named_children[1]) or ""
            rtype, _, version = spec.partition("@")
            facts["resources"].append(
                {"type": rtype, "api_version": version, "line": node.start_point[0] + 1}
            )
        elif node.type == "parameter_declaration":
            name = text(node.named_children[0])
            facts["params"][name] = {"has_default": any(c.type == "=" for c in node.children)}
            if facts["params"][name]["has_default"]:
                facts["params"][name]["default"] = text(node.named_children[-1])
            facts["params"][name]["decorators"] = decorators_of(node)
        elif node.type == "output_declaration":
            facts["outputs"].append(text(node.named_children[0]))
        elif node.type == "module_declaration":
            symbol = text(node.named_children[0])
            target = string_value(node.named_children[1]) or ""
            body = node.named_children[-1]
            params = object_entries(body).get("params") if body.type == "object" else None
            facts["modules"][symbol] = {
                "path": str((path.parent / target).resolve().relative_to(root.resolve())),
                "params": sorted(object_entries(params)) if params is not None else [],
                "values": {k: text(v) for k, v in object_entries(params).items()}
                if params is not None
                else {},
            }
        elif node.type == "variable_declaration":
            name, value = text(node.named_children[0]), node.named_children[-1]
            if value.type == "object":
                facts["objects"][name] = {k: describe(v) for k, v in object_entries(value).items()}
            else:
                facts["variables"][name] = literal(value)
                facts["expressions"][name] = text(value)
    return facts


def bicepparam_facts(path: Path) -> dict[str, Any]:
    """tree-sitter-bicep has no .bicepparam grammar: read `using` and the parameter names."""
    source = path.read_text()
    using = re.search(r"^using\s+'([^']+)'", source, re.MULTILINE)
    return {
        "using": using.group(1) if using else None,
        "params": re.findall(r"^param\s+([A-Za-z_][A-Za-z0-9_]*)\s*=", source, re.MULTILINE),
    }


def main(argv: list[str]) -> int:
    root = Path(argv[1])
    report: dict[str, Any] = {"files": {}, "bicepparam": {}, "azure_yaml": None}
    for path in sorted(root.rglob("*.bicep")):
        report["files"][str(path.relative_to(root))] = file_facts(path, root)
    for path in sorted(root.rglob("*.bicepparam")):
        report["bicepparam"][str(path.relative_to(root))] = bicepparam_facts(path)
    if len(argv) > 2:
        report["azure_yaml"] = yaml.safe_load(Path(argv[2]).read_text())
    json.dump(report, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
