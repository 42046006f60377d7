"""The MLflow registry client: what a user sees while MLflow is slow to answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from modelops.compile.spec import MlflowSettings
from modelops.promotion.registry import Registry, RegistryError


class _Unavailable(BaseHTTPRequestHandler):
    """An MLflow server that answers every request with 503, as one restarting does."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def unavailable() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_retries_that_wait_say_what_they_wait_for(unavailable: str, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    registry = Registry(unavailable, MlflowSettings(retries=2, timeout=5))
    with pytest.raises(RegistryError) as error:
        registry.version("eta-courier", 3)
    assert error.value.code == "MO501"
    waits = [line for line in capsys.readouterr().err.splitlines() if line.startswith("waiting")]
    assert waits == [f"waiting 2 s to retry MLflow at {unavailable} "
                     "(version 3 of registered model 'eta-courier')"]
