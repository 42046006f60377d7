"""User text in Markdown stays text (issue 27): an artifact URI, a model name or a message carrying
`\\n# Approved [merge now](https://evil.example/)` never becomes a heading, a link, HTML or a column of
its own in a review comment, a pull-request body or a compare table. Checked by parsing the output with
a CommonMark parser with GitHub's tables (markdown-it-py, which rich brings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from modelops.compare.run import Comparison, GateResult
from modelops.compare.run import markdown as compare_markdown
from modelops.compile.emit.tree import header, to_documents
from modelops.markdown import code, fence, inline, link, table
from modelops.review.changes import review, to_markdown

markdown_it = pytest.importorskip("markdown_it")

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = "\n# Approved [merge now](https://evil.example/) <img src=x onerror=alert(1)> `x` | y |"


def tokens(text: str) -> list[Any]:
    """Every block and inline token of `text`, as GitHub reads it (CommonMark and tables)."""
    parser = markdown_it.MarkdownIt("commonmark").enable("table")
    found = []
    for token in parser.parse(text):
        found.append(token)
        found.extend(token.children or [])
    return found


def assert_inert(text: str, headings: int = 0, html: tuple[str, ...] = ()) -> None:
    """No link or image at all, no heading but our own `headings`, no HTML but the tags in `html`."""
    found = tokens(text)
    kinds = {token.type for token in found}
    assert not kinds & {"link_open", "image", "blockquote_open", "bullet_list_open"}, text
    assert sum(token.type == "heading_open" for token in found) == headings, text
    tags = [token.content for token in found if token.type in ("html_inline", "html_block")]
    assert all(tag.strip().startswith(html) for tag in tags) if html else not tags, tags


def table_rows(text: str) -> list[list[str]]:
    """The cells of every table row, as rendered text."""
    rows: list[list[str]] = []
    in_cell = False
    for token in tokens(text):
        if token.type == "tr_open":
            rows.append([])
        if token.type == "inline" and in_cell:
            rows[-1].append(token.content)
        in_cell = token.type in ("th_open", "td_open")
    return rows


# --- the helpers ----------------------------------------------------------------------------------


def test_inline_is_one_literal_line() -> None:
    assert inline(PAYLOAD) == (" \\# Approved \\[merge now\\](https://evil.example/) &lt;img src=x "
                               "onerror=alert(1)> \\`x\\` \\| y \\|")
    assert inline("a -> b") == "a -> b" and inline("> quoted") == "\\> quoted"
    assert inline("C:\\|x") == "C:\\\\\\|x"  # a backslash cannot escape the escape of `|`
    assert_inert(f"para {inline(PAYLOAD)}")


def test_a_table_keeps_its_columns() -> None:
    text = "\n".join(table([("gate", "detail"), ("query: a | b", PAYLOAD), ("C:\\", "|")]))
    assert_inert(text)
    cells = [[cell.strip() for cell in row] for row in table_rows(text)]
    assert [len(row) for row in cells] == [2, 2, 2]
    assert cells[1][0] == "query: a | b"


def test_a_code_span_and_a_fence_cannot_be_closed_by_their_content() -> None:
    assert code("s3://b/x`y") == "``s3://b/x`y``" and code("`a") == "`` `a ``"
    block = fence("+ a\n  ```\n# not a heading\n+ [link](https://evil.example/)", "diff")
    assert block[0] == "````diff" and block[-1] == "````"
    text = "\n".join(["before", *block, "after"])
    assert_inert(text)
    assert [t.type for t in tokens(text)].count("fence") == 1


def test_a_link_keeps_its_text_and_its_address() -> None:
    text = link("iris]](https://evil.example/) v3", "https://mlflow.example/#/models/a b)/versions/3")
    [opened] = [t for t in tokens(text) if t.type == "link_open"]
    assert opened.attrs["href"] == "https://mlflow.example/#/models/a%20b)/versions/3"
    assert text.startswith("[iris\\]\\](https://evil.example/) v3](<")
    assert link("board", "https://grafana.example/d/x?a=1&b=2") == "[board](https://grafana.example/d/x?a=1&b=2)"
    [opened] = [t for t in tokens(link("x", "https://e.example/a\n# b")) if t.type == "link_open"]
    assert opened.attrs["href"] == "https://e.example/a%0A#%20b"


# --- where user text reaches Markdown ---------------------------------------------------------------


def _with_uri(uri: str) -> str:
    """The example iris SeldonDeployment of generated/staging, serving `uri`."""
    path = ROOT / "generated" / "staging" / "models-staging" / "iris-classifier.yaml"
    objects = list(yaml.safe_load_all(path.read_text()))
    text = to_documents(objects)
    return header("models/iris-classifier.yaml") + text.replace(
        "modelUri: s3://acme-models/iris-classifier/v3", f"modelUri: {json.dumps(uri)}")


def test_a_review_comment_keeps_an_injected_uri_and_model_name_inside_its_table() -> None:
    before = {"staging/models-staging/iris-classifier.yaml": _with_uri("s3://acme-models/iris/v3")}
    after = {"staging/models-staging/iris-classifier.yaml": _with_uri("s3://acme-models/iris/v4" + PAYLOAD),
             "staging/models-staging/x\n# Approved [merge now](mailto:evil@example.com).yaml":
                 _with_uri("s3://acme-models/x/1")}
    text = to_markdown(review(before, after))
    assert_inert(text, headings=1, html=("<!--", "<details>", "<summary>", "</summary>", "</details>",
                                         "<br>"))
    rows = table_rows(text)
    assert len(rows) == 3 and all(len(row) == 4 for row in rows)  # header, two models
    assert "model URI" in rows[1][3] and "v4 # Approved \\[merge now\\]" in rows[1][3]
    assert rows[2][1] == "x # Approved \\[merge now\\](mailto:evil@example.com)"


def test_a_pull_request_body_keeps_injected_metric_names_and_uris_literal() -> None:
    from modelops.promotion.pullrequest import body

    summary = "\n".join([f"Pinned storage URI: {code('s3://acme-models/iris/4`' + PAYLOAD)}", "",
                         *table([("metric", "deployed", "candidate"), (PAYLOAD, "0.9", "0.95")])])
    text = body(summary, to_markdown(review({}, {})), "", team="risk", command="promote")
    assert_inert(text, headings=1, html=("<!--",))
    assert [len(row) for row in table_rows(text)] == [3, 3]


def test_compare_keeps_injected_class_names_inside_its_tables() -> None:
    comparison = Comparison("iris", "production", "main", "shadow", "classification", pairs=10,
                            min_pairs=5, statistics={"flips": {PAYLOAD: {"b": 2}, "b": {PAYLOAD: 1}}},
                            gates=[GateResult("agreement", 0.9, 0.95, True)])
    text = compare_markdown(comparison)
    assert_inert(text)
    widths = [len(row) for row in table_rows(text)]
    assert widths[-3:] == [3, 3, 3] and set(widths[:-3]) == {2}
