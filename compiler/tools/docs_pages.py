"""Generate the docs pages that come from the code: the rules table and one page per rule (from the
rule registry, `modelops.codes`), and the key-by-key reference of the model file and modelops.yaml
(from the JSON Schemas `modelops schema` exports). `make docs-pages` writes them; `--check` (the
tests) exits 1 naming each stale file.

    python compiler/tools/docs_pages.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from modelops.codes import RULES, Rule, with_table
from modelops.compile.schema import schema_texts

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REFERENCE_BEGIN, REFERENCE_END = "<!-- reference:begin -->", "<!-- reference:end -->"
SCHEMA_PAGES = {"model.schema.json": "model-file.md", "modelops.schema.json": "config.md"}
# Definitions documented on another page: one row, no keys under it.
ELSEWHERE = {"Settings": "Its keys are the model file's: see [The model file](model-file.md#every-key)."}
MAX_DEPTH = 4  # deep enough for every key a user writes; recursive definitions stop here


def rule_page(rule: Rule) -> str:
    """One rule's page: its title, family and explanation, `Before:`/`After:` examples as code."""
    lines = [f"# {rule.code}: {rule.title}", "", f"Family: **{rule.family}**. "
             f"`modelops rule {rule.code}` prints this page in a terminal.", ""]
    for paragraph in rule.explanation.split("\n\n"):
        lines += [*_paragraph(paragraph), ""]
    lines += ["[All rules](../rules.md)", ""]
    return "\n".join(lines)


def _paragraph(text: str) -> list[str]:
    """Prose as it is; an example's `Before:` / `After:` blocks (indented by two) as YAML code."""
    out: list[str] = []
    block: list[str] | None = None
    for line in text.splitlines():
        label = line.strip().rstrip(":")
        if line in ("Before:", "After:") or (not line.startswith("  ") and block is not None
                                            and label in ("Before", "After")):
            if block is not None:
                out += ["```yaml", *block, "```", ""]
            out.append(f"**{label}:**")
            out.append("")
            block = []
        elif block is not None and (line.startswith("  ") or not line.strip()):
            block.append(line[2:])
        else:
            if block is not None:
                out += ["```yaml", *block, "```", ""]
                block = None
            out.append(line)
    if block is not None:
        out += ["```yaml", *block, "```"]
    return out


def reference(schema: dict[str, Any]) -> str:
    """A table of every key (dotted path, type, default, meaning), from the JSON Schema."""
    definitions = schema.get("definitions", {})
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for path, node in _keys(schema, definitions, "", 0, (), schema.get("properties", {})):
        meaning = " ".join(filter(None, [node.get("description", ""),
                                         ELSEWHERE.get(_target(node, definitions)[1], "")]))
        rows.append(f"| `{path}` | {_type(node, definitions)} | {_default(node)} | {_cell(meaning)} |")
    return "\n".join(rows) + "\n"


def _keys(node: dict[str, Any], definitions: dict[str, Any], prefix: str, depth: int,
          seen: tuple[str, ...], top: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(dotted path, schema) of every key under `node`; an override of a top-level key (the same
    schema under `environments.<name>`) is left out, since the top-level row says it all."""
    node, name = _target(node, definitions)
    if depth > MAX_DEPTH or (name and name in seen) or name in ELSEWHERE:
        return []
    seen = (*seen, name) if name else seen
    found: list[tuple[str, dict[str, Any]]] = []
    for key, child in sorted(node.get("properties", {}).items()):
        if prefix and top.get(key) == child:
            continue
        path = f"{prefix}{key}"
        found.append((path, child))
        found += _keys(child, definitions, f"{path}.", depth + 1, seen, top)
    for child in node.get("patternProperties", {}).values():
        if _target(child, definitions)[0].get("properties"):
            found += _keys(child, definitions, f"{prefix}<name>.", depth + 1, seen, top)
    items = node.get("items")
    if isinstance(items, dict) and _target(items, definitions)[0].get("properties"):
        found += _keys(items, definitions, f"{prefix.rstrip('.')}[].", depth + 1, seen, top)
    return found


def _target(node: dict[str, Any], definitions: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The definition a property points at (through `$ref`, `then` or `anyOf`), and its name."""
    for candidate in (node, node.get("then", {}), *node.get("anyOf", [])):
        ref = candidate.get("$ref", "") if isinstance(candidate, dict) else ""
        if ref.startswith("#/definitions/"):
            name = ref.rsplit("/", 1)[1]
            return definitions[name], name
    return node, ""


def _type(node: dict[str, Any], definitions: dict[str, Any]) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"] if v is not None)
    target, name = _target(node, definitions)
    if "enum" in target:
        return " \\| ".join(f"`{v}`" for v in target["enum"] if v is not None)
    kinds = node.get("type", target.get("type", ""))
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    shown = [k for k in kinds if k != "null"] or kinds
    if "object" in shown and "patternProperties" in node:
        return "map"
    if "array" in shown:
        return "list"
    return ", ".join(shown) or ("object" if name else "any")


def _default(node: dict[str, Any]) -> str:
    if "default" not in node or node["default"] is None:
        return "—"
    return f"`{json.dumps(node['default'], sort_keys=True)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def with_reference(page: str, table: str) -> str:
    head, begin, rest = page.partition(REFERENCE_BEGIN + "\n")
    _, end, tail = rest.partition(REFERENCE_END)
    if not begin or not end:
        raise ValueError(f"no {REFERENCE_BEGIN} ... {REFERENCE_END} markers")
    return head + begin + table + end + tail


def wanted() -> dict[Path, str]:
    """Every generated page, by path, as it should read now."""
    files = {DOCS / "rules.md": with_table((DOCS / "rules.md").read_text(encoding="utf-8"))}
    files.update({DOCS / "rules" / f"{rule.code}.md": rule_page(rule) for rule in RULES})
    for schema_name, page_name in SCHEMA_PAGES.items():
        schema = json.loads(schema_texts()[schema_name])
        page = DOCS / page_name
        files[page] = with_reference(page.read_text(encoding="utf-8"), reference(schema))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is stale")
    args = parser.parse_args()
    files = wanted()
    stale_pages = sorted((DOCS / "rules").glob("*.md")) if (DOCS / "rules").is_dir() else []
    extra = [p for p in stale_pages if p not in files]
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in [*stale, *extra]:
            print(f"{path.relative_to(ROOT)}: stale: run `make docs-pages`", file=sys.stderr)
        return 1 if stale or extra else 0
    for path in extra:
        path.unlink()
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
