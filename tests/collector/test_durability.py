"""At least once: `modelops collect` answers 2xx only once an event is in its fsynced spool, so a
kill -9 during a load loses no acknowledged event (the next start replays the spool), and a full
spool answers 503 with Retry-After instead of dropping what it already holds."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from support.collector_events import Poster, collector, seldon, seldon_answer, stored_rows

pytestmark = pytest.mark.slow
ANSWER = seldon_answer([[0.2, 0.8]])


def _load(port: int, prefix: str, acknowledged: list[str], stop: threading.Event) -> None:
    poster = Poster(port)
    for i in range(100_000):
        if stop.is_set():
            break
        puid = f"{prefix}-{i}"
        try:
            status, _ = poster.post(seldon("response", puid, "main", ANSWER), ANSWER)
        except OSError:  # the collector is gone
            break
        if status == 202:
            acknowledged.append(puid)


def test_kill_9_during_a_load_loses_no_acknowledged_event(tmp_path: Path) -> None:
    store, spool = tmp_path / "store", tmp_path / "spool"
    acknowledged: list[str] = []
    stop = threading.Event()
    with collector(str(store), spool, "--flush-seconds", "3600") as running:
        posters = [threading.Thread(target=_load, args=(running.port, f"t{n}", acknowledged, stop))
                   for n in range(3)]
        for thread in posters:
            thread.start()
        while len(acknowledged) < 300:
            time.sleep(0.005)
        running.process.send_signal(signal.SIGKILL)  # mid-load: posters are still sending
        running.process.wait(timeout=30)
        stop.set()
        for thread in posters:
            thread.join(timeout=30)
    assert not list(store.rglob("*.parquet")), "nothing was stored before the kill"
    assert len(acknowledged) >= 300

    with collector(str(store), spool, "--flush-seconds", "0.1") as restarted:
        assert restarted.stop() == 0
    assert "replaying" in restarted.log.read_text()
    stored = {row["request_id"] for row in stored_rows(store)}
    assert set(acknowledged) <= stored, f"lost {len(set(acknowledged) - stored)} acknowledged events"
    assert not list(spool.glob("*.seg"))


def test_a_full_spool_answers_503_with_retry_after_and_keeps_what_it_acknowledged(tmp_path: Path) -> None:
    store, spool = tmp_path / "store", tmp_path / "spool"
    with collector(str(store), spool, "--flush-seconds", "3600", "--max-spool-bytes", "2048") as running:
        poster = Poster(running.port)
        answers = [(f"p{i}", *poster.post(seldon("response", f"p{i}", "main", ANSWER), ANSWER))
                   for i in range(12)]
        acknowledged = [puid for puid, status, _ in answers if status == 202]
        refused = [headers for _, status, headers in answers if status == 503]
        assert acknowledged and refused
        assert all(headers.get("retry-after") == "5" for headers in refused)
        assert 'modelops_collector_events_refused_total{reason="spool_full"} ' in running.metrics()
        assert running.stop() == 0
    assert sorted(row["request_id"] for row in stored_rows(store)) == sorted(acknowledged)


def test_a_malformed_request_head_is_refused_and_the_collector_keeps_serving(tmp_path: Path) -> None:
    """The collector reads request heads itself (modelops.collector.headers): what http.server
    refuses, it refuses with the same statuses, and the next client is served."""
    import socket

    start = b"POST /v1/events HTTP/1.1\r\n"
    heads = ((b"GARBAGE\r\n\r\n", b" 400 "), (b"POST /v1/events HTTP/2.0\r\n\r\n", b" 505 "),
             (start + b"no colon here\r\n\r\n", b" 400 "), (start + b"X-A: 1\r\n" * 101 + b"\r\n", b" 431 "),
             (start + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n", b" 431 "))
    with collector(str(tmp_path / "store"), tmp_path / "spool") as running:
        for head, status in heads:
            with socket.create_connection(("127.0.0.1", running.port), timeout=10) as client:
                client.sendall(head)
                answer = b""
                while chunk := client.recv(65536):  # the collector closes after an error
                    answer += chunk
            assert f"Error code: {status.strip().decode()}".encode() in answer, (head[:40], answer[:80])
        poster = Poster(running.port)
        body = seldon_answer([[0.2, 0.8]])
        assert poster.post(seldon("response", "puid-1", "main", body), body)[0] == 202
        poster.close()


def _answer_to(client: object) -> bytes:
    answer = b""
    while chunk := client.recv(65536):  # type: ignore[attr-defined]
        answer += chunk
    return answer


def test_memory_stays_bounded_by_connections_and_silence(tmp_path: Path) -> None:
    """Clients cannot make the collector hold more than it was given: a connection beyond
    --max-connections is answered 503 with Retry-After at once (not a thread more), and a connection
    that sends nothing (a slow or dead client) is closed after --idle-timeout, freeing its place."""
    import socket

    with collector(str(tmp_path / "store"), tmp_path / "spool", "--max-connections", "3",
                   "--idle-timeout", "1") as running:
        idle = [socket.create_connection(("127.0.0.1", running.port), timeout=10) for _ in range(3)]
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as fourth:
            answer = _answer_to(fourth)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in answer
        for client in idle:  # the collector closes each silent connection after a second
            client.settimeout(10)
            assert _answer_to(client) == b""
            client.close()
        poster = Poster(running.port)
        body = seldon_answer([[0.2, 0.8]])
        assert poster.post(seldon("response", "after", "main", body), body)[0] == 202
        poster.close()
        assert 'reason="busy"} 1' in running.metrics()


def test_bodies_being_read_hold_at_most_64_mib_together(tmp_path: Path) -> None:
    """Four clients each announcing a 16 MiB event (the most one may be) and sending it slowly hold
    the collector's whole reading budget: a fifth is answered 503 with Retry-After instead of a fifth
    16 MiB buffer; once they are gone, events are taken again."""
    import socket

    from modelops.collector.server import MAX_EVENT_BYTES, MAX_READING_BYTES

    assert MAX_READING_BYTES == 4 * MAX_EVENT_BYTES
    head = seldon("response", "big", "main", ANSWER)
    head["Content-Length"] = str(MAX_EVENT_BYTES)
    request = ("POST /v1/events HTTP/1.1\r\nHost: x\r\n" +
               "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n").encode()
    with collector(str(tmp_path / "store"), tmp_path / "spool") as running:
        slow = []
        for _ in range(4):
            client = socket.create_connection(("127.0.0.1", running.port), timeout=10)
            client.sendall(request + b"{")
            slow.append(client)
        time.sleep(0.3)
        poster = Poster(running.port)
        status, headers = poster.post(seldon("response", "fifth", "main", ANSWER), ANSWER)
        assert status == 503 and headers["retry-after"]
        poster.close()
        for client in slow:
            client.close()
        time.sleep(0.3)
        poster = Poster(running.port)
        assert poster.post(seldon("response", "later", "main", ANSWER), ANSWER)[0] == 202
        poster.close()
