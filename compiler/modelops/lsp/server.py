"""The language server (pygls): the editor's buffers in, `validate`'s diagnostics, hovers and
completions out, over stdio or TCP.

A buffer belongs to the repository around it (the nearest folder with modelops.yaml); only that
repository's modelops.yaml and models/*.yaml are served. Every change re-publishes each open file
of the repository, since a change to one (a model's name, modelops.yaml) can change another's.
"""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from modelops import __version__
from modelops.compile.project import CONFIG_FILE, find_root
from modelops.diagnostics import Diagnostic
from modelops.lsp import assist
from modelops.lsp.context import token_end
from modelops.lsp.history import git_history
from modelops.lsp.workspace import Workspace
from modelops.masking import mask_text

RULES_URL = "https://modelops-gitops.github.io/modelops/rules/{code}/"
SOURCE = "modelops"
# Files changed on disk (a checkout, another program) that a client reports, when it watches for us.
WATCHED = ["**/modelops.yaml", "**/models/*.yaml", "**/models/*.yml"]


class ModelopsServer(LanguageServer):
    """One server, any number of repositories (one `Workspace` each, made when a file of it opens)."""

    def __init__(self) -> None:
        super().__init__("modelops", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.repositories: dict[Path, Workspace] = {}
        self.uris: dict[tuple[Path, str], str] = {}  # (root, shown path) of an open file -> its uri

    def locate(self, uri: str) -> tuple[Workspace, str] | None:
        """The repository a document belongs to and its path there; None for any other file."""
        path = Path(self.workspace.get_text_document(uri).path)
        root = find_root(path.parent)
        if not (root / CONFIG_FILE).is_file() and path.name != CONFIG_FILE:
            return None
        workspace = self.repositories.get(root)
        if workspace is None:
            workspace = Workspace(root, git_history(root, self.note))
            self.repositories[root] = workspace
            settle()
        shown = workspace.shown(path)
        return (workspace, shown) if shown is not None else None

    def note(self, line: str) -> None:
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Info,
                                                       message=f"modelops: {line}"))

    def changed(self, uri: str, *, closed: bool = False) -> None:
        """The buffer `uri` opened, changed or closed: check it, publish every open file's findings."""
        found = self.locate(uri)
        if found is None:
            return
        workspace, shown = found
        if closed:
            workspace.close(shown)
            self.uris.pop((workspace.root, shown), None)
            self.publish(uri, [], None)
        else:
            workspace.set_text(shown, self.workspace.get_text_document(uri).source)
            self.uris[(workspace.root, shown)] = uri
        if shown == CONFIG_FILE:
            settle()
        self.publish_all(workspace)

    def publish_all(self, workspace: Workspace) -> None:
        for (root, shown), uri in list(self.uris.items()):
            if root == workspace.root:
                self.publish(uri, workspace.diagnostics(shown), self.workspace.get_text_document(uri))

    def publish(self, uri: str, found: list[Diagnostic], document: TextDocument | None) -> None:
        diagnostics = [to_lsp(d, document) for d in found] if document is not None else []
        version = document.version if document is not None else None
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))


def settle() -> None:
    """What every model file's check left (after a workspace is read, or modelops.yaml changed)
    collected once, then kept out of the garbage collector's sight: walking its ~200,000 objects at
    1,000 models took ~100 ms every dozen keystrokes."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def to_lsp(found: Diagnostic, document: TextDocument) -> types.Diagnostic:
    """One diagnostic at its place in the buffer: 1-based line and column (code points) to a 0-based
    range in the client's units, over the key or value it points at."""
    lines = document.lines
    line = max(found.line - 1, 0)
    col = max(found.col - 1, 0)
    text = lines[line] if line < len(lines) else ""
    span = ServerTextRange(ServerTextPosition(line, col), ServerTextPosition(line, token_end(text, col)))
    return types.Diagnostic(
        range=document.range_to_client_units(span) if line < len(lines) else
        types.Range(types.Position(line, col), types.Position(line, col)),
        message=mask_text(found.message),
        severity=types.DiagnosticSeverity.Error,
        code=found.code,
        code_description=types.CodeDescription(href=RULES_URL.format(code=found.code)),
        source=SOURCE,
    )


def make_server() -> ModelopsServer:
    """The server with its features registered."""
    server = ModelopsServer()

    @server.feature(types.INITIALIZED)
    def initialized(ls: ModelopsServer, params: types.InitializedParams) -> None:
        workspace = ls.client_capabilities.workspace
        watching = workspace.did_change_watched_files if workspace is not None else None
        if watching is not None and watching.dynamic_registration:
            ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
                id="modelops-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[
                    types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED]))]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ModelopsServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ModelopsServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ModelopsServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ModelopsServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.changed(params.text_document.uri, closed=True)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: ModelopsServer, params: types.DidChangeWatchedFilesParams) -> None:
        touched: dict[Path, Workspace] = {}
        for change in params.changes:
            found = ls.locate(change.uri)
            if found is not None:
                found[0].on_disk_changed(found[1])
                touched[found[0].root] = found[0]
        if any(found[1] == CONFIG_FILE for change in params.changes if (found := ls.locate(change.uri))):
            settle()
        for workspace in touched.values():
            ls.publish_all(workspace)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: ModelopsServer, params: types.HoverParams) -> types.Hover | None:
        found = ls.locate(params.text_document.uri)
        if found is None:
            return None
        document = ls.workspace.get_text_document(params.text_document.uri)
        at = document.position_codec.position_from_client_units(document.lines, params.position)
        result = assist.hover(found[1], list(document.lines), at.line, at.character)
        if result is None:
            return None
        span = ServerTextRange(ServerTextPosition(result.line, result.start),
                               ServerTextPosition(result.line, result.end))
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=result.markdown),
            range=document.range_to_client_units(span))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" "]))
    def completion(ls: ModelopsServer, params: types.CompletionParams) -> types.CompletionList:
        found = ls.locate(params.text_document.uri)
        if found is None:
            return types.CompletionList(is_incomplete=False, items=[])
        workspace, shown = found
        document = ls.workspace.get_text_document(params.text_document.uri)
        at = document.position_codec.position_from_client_units(document.lines, params.position)
        offered = assist.completions(shown, list(document.lines), at.line, at.character, workspace.config)
        return types.CompletionList(is_incomplete=False, items=[_item(c) for c in offered])

    return server


def _item(offered: assist.Completion) -> types.CompletionItem:
    kind = types.CompletionItemKind.Property if offered.kind == "key" else types.CompletionItemKind.Value
    documentation = (types.MarkupContent(kind=types.MarkupKind.Markdown, value=offered.documentation)
                     if offered.documentation else None)
    return types.CompletionItem(label=offered.label, kind=kind, detail=offered.detail or None,
                                documentation=documentation, insert_text=offered.insert or None)


def serve(tcp: tuple[str, int] | None = None) -> None:
    """Serve until the client says exit: over TCP at `tcp` (host, port), else stdin and stdout (the
    process's own streams, not the CLI's masking wrapper: each diagnostic is masked on its own)."""
    server = make_server()
    if tcp is not None:
        logging.getLogger("asyncio").addFilter(_quiet_exit)
        server.start_tcp(*tcp)
        return
    server.start_io(_binary(sys.__stdin__, sys.stdin), _binary(sys.__stdout__, sys.stdout))


def _quiet_exit(record: logging.LogRecord) -> bool:
    """Over TCP, pygls ends the process on `exit` with a SystemExit that asyncio reports as an
    unhandled exception of the connection, traceback and all: not an error, so not logged."""
    return not (record.exc_info and isinstance(record.exc_info[1], SystemExit))


def _binary(original: TextIO | None, current: TextIO) -> BinaryIO:
    return (original or current).buffer
