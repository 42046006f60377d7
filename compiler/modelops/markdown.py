"""Text modelops did not write, made literal in Markdown: the one escaping of every body and table.

Pull-request bodies, review comments and report tables carry strings from model files, generated/
trees, MLflow and the prediction store: file and model names, artifact URIs, metric names, predicted
classes. Written raw, `\\n# Approved` would start a heading, `[merge now](https://evil.example/)` a
link, `|` a table column, `<img src=...>` HTML and a backtick a code span. `inline` makes any string
one line of literal text (a table cell too), `code` a code span, `link` a link whose text and address
stay what they are, `fence` a fenced block its content cannot close, and `table` a table of `inline`
cells.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

_LITERAL = str.maketrans({
    "\\": "\\\\", "`": "\\`", "|": "\\|", "[": "\\[", "]": "\\]", "<": "&lt;",
})
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")
_BACKTICKS = re.compile(r"`+")
_UNSAFE_IN_URL = re.compile(r"[\s<>\x00-\x1f\x7f]")


def _one_line(text: object) -> str:
    return _LINE_BREAK.sub(" ", str(text))


def inline(text: object) -> str:
    """`text` as literal Markdown on one line: line breaks become spaces; backslashes, backticks,
    `|`, `[`, `]` and `<` are escaped (no tag or autolink can open, so a later `>` is inert, and
    `a -> b` stays readable), and so are a leading `#` or `>` (a heading, a quote)."""
    literal = _one_line(text).translate(_LITERAL)
    body = literal.lstrip(" ")
    return literal[:len(literal) - len(body)] + "\\" + body if body.startswith(("#", ">")) else literal


def code(text: object) -> str:
    """`text` as one code span, delimited by more backticks than any run inside it."""
    flat = _one_line(text)
    ticks = "`" * (max((len(run) for run in _BACKTICKS.findall(flat)), default=0) + 1)
    padded = f" {flat} " if flat.startswith("`") or flat.endswith("`") else flat
    return f"{ticks}{padded}{ticks}"


def link(text: object, url: str) -> str:
    """A link: `text` literal; `url` percent-encoded where it would end the link (whitespace, control
    characters, `<`, `>`), and in angle brackets when it holds parentheses."""
    address = _UNSAFE_IN_URL.sub(lambda found: quote(found.group()), url)
    return f"[{inline(text)}]({f'<{address}>' if '(' in address or ')' in address else address})"


def fence(text: str, info: str = "") -> list[str]:
    """The lines of a fenced code block holding `text`, its fence longer than any backtick run in it."""
    ticks = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    return [ticks + info, *text.splitlines(), ticks]


def table(rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table of `inline` cells: the first row is the header."""
    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(inline(cell) for cell in cells) + " |"

    header, *body = rows
    return [line(header), "|" + "---|" * len(header), *(line(cells) for cells in body)]
