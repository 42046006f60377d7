"""User-facing errors: one line each, `path:line:col: CODE message`, like ruff."""

from __future__ import annotations

from dataclasses import dataclass

from modelops.masking import mask_text


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        path, message = printable(mask_text(self.path)), printable(mask_text(self.message))
        return f"{path}:{self.line}:{self.col}: {self.code} {message}"

    def to_json(self) -> dict[str, object]:
        """The diagnostic as JSON; credentials in its path or message masked (modelops.masking)."""
        return {
            "path": mask_text(self.path),
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "message": mask_text(self.message),
        }


def printable(text: str) -> str:
    """`text` safe for one terminal or CI-log line: control and other unprintable characters (ESC,
    NEL, line separators, ...) and undecodable bytes of file names are written as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if char in "\r\n\t":
        return repr(char)[1:-1]
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a non-UTF-8 file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


class UserError(Exception):
    """Raised with every diagnostic of a run once a stage finds problems."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(str(d) for d in sorted(diagnostics)))
        self.diagnostics = sorted(set(diagnostics))
