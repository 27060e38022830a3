"""Probe how the events endpoint answers request bodies that cannot be read.

    python -m bench.probe_body                    # this checkout
    python -m bench.probe_body --root /work/old   # another checkout (needs tests/body_app.py)

Serves ``tests/body_app.py`` (limit 4096 bytes) under gunicorn gthread, gunicorn sync
and the werkzeug dev server, sends each malformed body below on a raw socket and
prints, per server, the answer (status line and event name, or "closed") and whether
the server logged a traceback. Acceptable: a ``badProtocol`` event (200, or 413 over
the limit), an answer from the server itself before the app runs (400), or the
connection closed; never a 500, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
from pathlib import Path

from tests.servers import ROOT, logged_server, raw_exchange

HERE = Path(__file__).resolve().parent

BODY = json.dumps(
    {"name": "echo", "version": 1, "id": "i-1", "flowId": "f-1", "payload": {"a": 1}}
).encode()
N = b"%x" % len(BODY)
CHUNKED = b"POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
CLOSE = b"Connection: close\r\n\r\n"


def sized(length: bytes, body: bytes, *extra: bytes) -> bytes:
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n"
    return head + b"".join(extra) + CLOSE + body


#: name -> (request bytes, half-close after sending)
VARIANTS: dict[str, tuple[bytes, bool]] = {
    "chunked: well formed": (CHUNKED + CLOSE + N + b"\r\n" + BODY + b"\r\n0\r\n\r\n", True),
    "chunked: non-hex size": (CHUNKED + CLOSE + b"zz\r\n" + BODY + b"\r\n0\r\n\r\n", True),
    "chunked: empty size line": (CHUNKED + CLOSE + b"\r\n" + BODY + b"\r\n0\r\n\r\n", True),
    "chunked: negative size": (CHUNKED + CLOSE + b"-5\r\nhello\r\n0\r\n\r\n", True),
    "chunked: 0x prefix": (CHUNKED + CLOSE + b"0x5\r\nhello\r\n0\r\n\r\n", True),
    "chunked: chunk cut short": (CHUNKED + CLOSE + b"%x\r\n" % (len(BODY) + 50) + BODY, True),
    "chunked: no CRLF after data": (CHUNKED + CLOSE + N + b"\r\n" + BODY + b"XX0\r\n\r\n", True),
    "chunked: missing final chunk": (CHUNKED + CLOSE + N + b"\r\n" + BODY + b"\r\n", True),
    "chunked: missing end of trailers": (
        CHUNKED + CLOSE + N + b"\r\n" + BODY + b"\r\n0\r\n",
        True,
    ),
    "chunked: bad trailer line": (
        CHUNKED + CLOSE + N + b"\r\n" + BODY + b"\r\n0\r\nnocolon\r\n\r\n",
        True,
    ),
    "chunked: extension garbage": (
        CHUNKED + CLOSE + N + b";\x01\x7f=(\r\n" + BODY + b"\r\n0\r\n\r\n",
        True,
    ),
    "chunked: extension with bare CR": (
        CHUNKED + CLOSE + N + b";a\rb\r\n" + BODY + b"\r\n0\r\n\r\n",
        True,
    ),
    "chunked: huge size (24 hex digits)": (CHUNKED + CLOSE + b"f" * 24 + b"\r\n" + BODY, True),
    "chunked: size 2**63-1": (CHUNKED + CLOSE + b"7fffffffffffffff\r\n" + BODY, True),
    "chunked: size line of 10000 bytes": (CHUNKED + CLOSE + b"1" * 10000, True),
    "chunked: nothing at all": (CHUNKED + CLOSE, True),
    "chunked: over the limit": (CHUNKED + CLOSE + b"1400\r\n" + b" " * 0x1400, True),
    "length: body shorter (valid JSON)": (sized(b"%d" % (len(BODY) + 20), BODY), True),
    "length: body shorter (cut JSON)": (sized(b"500", b'{"name":'), True),
    "length: no body at all": (sized(b"100", b""), True),
    "length: negative": (sized(b"-1", BODY), True),
    "length: not a number": (sized(b"abc", BODY), True),
    "length: plus sign": (sized(b"+%d" % len(BODY), BODY), True),
    "length: two different": (sized(b"%d" % len(BODY), BODY, b"Content-Length: 5\r\n"), True),
    "length: over the limit": (sized(b"5000", b" " * 5000), True),
    "length: over the limit, not sent": (sized(b"5000", b""), True),
    "length and chunked both": (
        sized(b"3", N + b"\r\n" + BODY + b"\r\n0\r\n\r\n", b"Transfer-Encoding: chunked\r\n"),
        True,
    ),
    "expect 100-continue, body sent": (
        sized(b"%d" % len(BODY), BODY, b"Expect: 100-continue\r\n"),
        True,
    ),
    "expect 100-continue, no body": (sized(b"50", b"", b"Expect: 100-continue\r\n"), True),
}

#: Bodies that are well formed and served. With both headers the framing is
#: Transfer-Encoding's (RFC 9112 6.1: a server may reject the request or follow it).
SERVED = {"chunked: well formed", "expect 100-continue, body sent", "length and chunked both"}


def outcome(answer: bytes) -> str:
    if not answer:
        return "closed"
    head, _, body = answer.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100"):
        head, _, body = body.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode("latin1").split(" ", 2)[1]
    try:
        name = json.loads(body)["name"]
    except (ValueError, KeyError, TypeError):
        name = "html" if b"<" in body[:20] else "?"
    return f"{status} {name}"


def acceptable(variant: str, result: str) -> bool:
    if variant in SERVED and result == "200 echo:response":
        return True
    if variant in SERVED - {"length and chunked both"}:
        return False
    return result in ("closed", "200 badProtocol", "413 badProtocol") or result.startswith("400 ")


def stall(port: int, wait: float) -> str:
    """A body that stops half way without the client closing: how long until the server
    gives up (or ``wait`` passes)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(sized(b"100", b'{"name":"echo",'))
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            return f"still open after {wait:.0f} s"
    return f"{outcome(answer)} after {time.monotonic() - start:.1f} s"


def probe(kind: str, root: Path, stall_wait: float) -> tuple[list[tuple[str, str, bool]], str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with logged_server(kind, "tests.body_app:app", log, cwd=root) as port:
            for variant, (request, half_close) in VARIANTS.items():
                before = log.stat().st_size
                result = outcome(raw_exchange(port, request, half_close=half_close))
                time.sleep(0.2)  # let the server write its log
                logged = log.read_bytes()[before:]
                traceback = b"Traceback" in logged or b"Error handling request" in logged
                rows.append((variant, result, traceback))
            stalled = stall(port, stall_wait) if stall_wait else "not tried"
    return rows, stalled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--stall", type=float, default=15.0, help="seconds; 0: skip")
    parser.add_argument("--servers", default="gthread,sync,werkzeug")
    args = parser.parse_args()
    for kind in args.servers.split(","):
        rows, stalled = probe(kind, args.root, args.stall)
        bad = [row for row in rows if not acceptable(row[0], row[1]) or row[2]]
        fives = sum(1 for row in rows if row[1].startswith("500"))
        tracebacks = sum(1 for row in rows if row[2])
        print(
            f"\n== {kind}: {len(bad)} of {len(rows)} variants answered wrongly "
            f"({fives} HTTP 500, {tracebacks} with a traceback in the log)"
        )
        for variant, result, traceback in rows:
            mark = "  " if acceptable(variant, result) and not traceback else "!!"
            note = "  + traceback in log" if traceback else ""
            print(f"{mark} {variant:38} {result}{note}")
        print(f"   stalled body (100 declared, 15 sent, kept open): {stalled}")


if __name__ == "__main__":
    main()
