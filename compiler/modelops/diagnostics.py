"""User-facing errors: one line each, `path:line:col: CODE message`, like ruff."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        message = self.message.replace("\r", "\\r").replace("\n", "\\n")
        return f"{self.path}:{self.line}:{self.col}: {self.code} {message}"

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "message": self.message,
        }


class UserError(Exception):
    """Raised with every diagnostic of a run once a stage finds problems."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(str(d) for d in sorted(diagnostics)))
        self.diagnostics = sorted(set(diagnostics))
