"""Issue 27: the webhook receiver cannot be replayed, never crashes on a malformed request, and is
not held by slow or many clients."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelops.promotion import autoupdate, webhook
from modelops.promotion.webhook import Rejected, sign, verify

SECRET = "webhook-secret-for-tests"
BODY = json.dumps({"entity": "model_version", "action": "created", "data": {"name": "eta"}}).encode()


def signed(body: bytes = BODY, delivery: str = "d1", at: int | None = None) -> list[tuple[str, str]]:
    stamp = str(int(time.time()) if at is None else at)
    return [("X-MLflow-Delivery-Id", delivery), ("X-MLflow-Timestamp", stamp),
            ("X-MLflow-Signature", sign(SECRET, delivery, stamp, body))]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[str], autoupdate.Service]]:
    monkeypatch.setattr(webhook, "READ_SECONDS", 0.5)
    monkeypatch.setattr(webhook, "MAX_CONNECTIONS", 3)
    lines: list[str] = []
    service = autoupdate.Service(SECRET, tolerance=300, run=lambda _: None, log=lines.append)
    server = service.server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], lines, service
    finally:
        server.shutdown()
        server.server_close()


def post(port: int, headers: list[tuple[str, str]], body: bytes = BODY) -> tuple[int, dict]:
    """POST with these header lines exactly as given (repeated names included)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", "/")
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            connection.putheader(name, value)
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        connection.close()


def test_a_second_delivery_id_header_is_refused_not_replayed(receiver) -> None:
    port, lines, _ = receiver
    original = signed()
    assert post(port, original) == (202, {"queued": "eta"})
    assert post(port, original)[0] == 409  # the same delivery again
    for leading in ("fresh-1", "fresh-2", "fresh-3"):  # a new id before the signed one
        status, payload = post(port, [("X-MLflow-Delivery-Id", leading), *original])
        assert status == 400 and payload == {"error": "X-MLflow-Delivery-Id given 2 times"}
    assert post(port, [*original, ("x-mlflow-signature", "v1,AAAA")])[0] == 400


def test_verify_refuses_repeated_signature_headers_from_any_source() -> None:
    message = http.client.HTTPMessage()
    for name, value in [*signed(), ("X-MLflow-Timestamp", "1")]:
        message[name] = value
    with pytest.raises(Rejected, match="X-MLflow-Timestamp given 2 times") as error:
        verify(SECRET, message, BODY)
    assert error.value.status == 400


@pytest.mark.parametrize("stamp", ["9" * 400, "-1", "+5", "1_000", " 12", "1e9", "１２"])
def test_a_timestamp_that_is_not_a_bounded_number_is_400(stamp: str) -> None:
    headers = {"X-MLflow-Delivery-Id": "d1", "X-MLflow-Timestamp": stamp, "X-MLflow-Signature": "v1,x"}
    with pytest.raises(Rejected, match="is not a unix time") as error:
        verify(SECRET, headers, BODY)
    assert error.value.status == 400


def test_an_unsigned_huge_timestamp_gets_an_answer(receiver) -> None:
    port, lines, _ = receiver
    headers = [("X-MLflow-Delivery-Id", "d"), ("X-MLflow-Timestamp", "9" * 400),
               ("X-MLflow-Signature", "v1,x")]
    assert post(port, headers)[0] == 400


def test_a_body_whose_data_is_not_an_object_is_no_crash(receiver) -> None:
    port, _, _ = receiver
    body = json.dumps({"entity": "model_version", "action": "created", "data": ["x"]}).encode()
    assert post(port, signed(body), body)[0] == 200


def trickle(sock: socket.socket, until: float) -> float:
    """Send a byte every 0.1 s until the peer closes the connection; when it did."""
    sock.settimeout(0.1)
    while time.monotonic() < until:
        try:
            sock.sendall(b"X")
            if sock.recv(1) == b"":
                break
        except TimeoutError:
            continue
        except OSError:
            break
    return time.monotonic()


def test_trickling_clients_are_cut_off_and_the_connections_capped(receiver) -> None:
    port, _, _ = receiver
    started = time.monotonic()
    tricklers = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    try:
        for sock in tricklers:
            sock.sendall(b"POST / HTTP/1.1\r\n")
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:  # over the cap
            assert extra.recv(64).startswith(b"HTTP/1.0 503 ")
        for sock in tricklers:  # a header byte at a time, until the receiver hangs up
            assert trickle(sock, until=started + 10) < started + 5
        assert time.monotonic() - started < 5
    finally:
        for sock in tricklers:
            sock.close()
    assert post(port, signed(delivery="after"))[0] == 202  # the slots are free again


# --- any headers, any body: an answer, never an exception -----------------------------------------

names = st.sampled_from([*webhook.SIGNED, "x-mlflow-delivery-id", "X-MLFLOW-TIMESTAMP", "Other"])
values = st.one_of(st.text(max_size=60), st.integers().map(str), st.just("v1,AAAA"), st.just("9" * 500))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10)
    | st.sampled_from(["model_version", "created"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["entity", "action", "data", "name"]), inner, max_size=4),
    max_leaves=12)
bodies = st.one_of(st.binary(max_size=200), st.just(BODY),
                   json_values.map(lambda v: json.dumps(v).encode()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(names, values), max_size=6), bodies, st.booleans())
def test_accept_answers_every_request_with_a_status(headers, body, sign_it) -> None:
    service = autoupdate.Service(SECRET, tolerance=300, run=lambda _: None, log=lambda _: None)
    message = http.client.HTTPMessage()
    for name, value in [*headers, *(signed(body, delivery=f"p{time.monotonic_ns()}") if sign_it else [])]:
        message[name] = value
    status, payload = service.accept(message, body)
    assert status in (200, 202, 400, 401, 409)
    assert isinstance(payload, dict)


printable = st.characters(min_codepoint=0x20, max_codepoint=0x7e)
raw_headers = st.lists(st.tuples(names, st.text(printable, max_size=40)), max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_headers, bodies)
def test_the_server_answers_every_request_with_a_status(receiver, headers, body) -> None:
    port, _, _ = receiver
    status, _ = post(port, headers, body)
    assert 200 <= status < 500
