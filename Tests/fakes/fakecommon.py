"""Shared plumbing of the strict fake vendor servers used by the Swift tests and benchmarks.

A server binds 127.0.0.1 on a free port, prints the port as its first stdout line, and exits when its
stdin closes (the parent test process ended or died). Faults are queued through `POST /_control` with a
JSON body {"faults": [{"path": "/api/", "mode": "500", "count": 1, "page": 2, "retry_after": "1",
"delay_s": 3}]} or from the command line (`--fault MODE:PATH[:COUNT[:PAGE]]`); `GET /_stats` answers
request counts per path. `--latency-ms` delays every answer (the benchmark's 100 ms).

`echo_500` is a careless server: it answers 500 with the whole request (request line with the full URL and
query, every header, the body) as its error body, after `--echo-pad N` filler bytes (or the fault's "pad"), so a
test can place a credential across a client's cut of the quoted body.

`drop_reused` reads a request that arrives on a kept-alive connection (not the connection's first) and closes
the connection without answering, as a server or load balancer does when its idle timeout races the client's
reuse; libcurl then re-sends the request on a fresh connection by itself. The server counts both.
"""
import argparse
import gc
import gzip
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODES = {"401", "429", "500", "503", "truncated", "malformed", "slow", "close", "echo_auth", "echo_500",
         # Google-style quota answers, a 429 without Retry-After, and "every issued token just expired".
         "403_rate_limit", "403_quota", "429_no_retry_after", "expire_tokens", "drop_reused",
         # A proxy's multi-line HTML error page with CRLF line ends and a terminal escape (nginx's 502).
         "html_502"}

HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx\x1b[2J</center>\r\n</body>\r\n</html>\r\n")

GOOGLE_QUOTA = {
    "403_rate_limit": (403, "userRateLimitExceeded", "PERMISSION_DENIED"),
    "403_quota": (403, "quotaExceeded", "PERMISSION_DENIED"),
    "429_no_retry_after": (429, "rateLimitExceeded", "RESOURCE_EXHAUSTED"),
}


class State:
    def __init__(self, latency_ms, echo_pad=0):
        self.lock = threading.Lock()
        self.echo_pad = echo_pad
        self.latency = latency_ms / 1000.0
        self.faults = []
        self.stats = {}
        self.in_flight = 0
        self.max_in_flight = 0

    def add_fault(self, fault):
        if fault.get("mode") not in MODES:
            raise ValueError("unknown fault mode %r" % fault.get("mode"))
        fault.setdefault("count", 1)
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, path, query, page=None, reused=False):
        """The first queued fault matching the request, consumed once per use. `page` overrides the `page`
        query parameter for APIs that page by token (the app's `page_of` tells the page's index).
        `drop_reused` faults only match requests on a reused connection."""
        if page is None:
            page = query.get("page", ["0"])[0]
        with self.lock:
            for f in self.faults:
                if not path.startswith(f.get("path", "/")):
                    continue
                if f["mode"] == "drop_reused" and not reused:
                    continue
                if "page" in f and str(page) != str(f["page"]):
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return dict(f)
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed ACK of the
    # headers (~40 ms a response), which would swamp a benchmark's injected latency.
    disable_nagle_algorithm = True
    server_version = "FakeVendor/1.0"
    state = None  # set by serve()
    gzip = False
    app = None    # routes: callable(handler, method, path, query, body) -> (status, headers, body)

    def log_message(self, *args):
        pass

    def _handle(self, method):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        st = self.state
        if parts.path == "/_control":
            for f in json.loads(body or b"{}").get("faults", []):
                st.add_fault(f)
            return self._send(200, {}, b"{}")
        if parts.path == "/_stats":
            with st.lock:
                out = {"paths": st.stats, "max_in_flight": st.max_in_flight}
            return self._send(200, {"Content-Type": "application/json"}, json.dumps(out).encode())
        served = getattr(self, "_served", 0)  # requests before this one on this connection
        self._served = served + 1
        with st.lock:
            st.stats[parts.path] = st.stats.get(parts.path, 0) + 1
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
        # The answer leaves `latency` after the request arrived (the fake's own work counts toward it).
        self._deadline = time.monotonic() + st.latency if st.latency else None
        try:
            page_of = getattr(self.app, "page_of", None)
            fault = st.take_fault(parts.path, query, page_of(parts.path, query) if page_of else None, reused=served > 0)
            if fault:
                mode = fault["mode"]
                if mode == "drop_reused":
                    self.close_connection = True
                    return
                if mode in GOOGLE_QUOTA:
                    code, reason, status = GOOGLE_QUOTA[mode]
                    body = {"error": {"code": code, "message": "Quota exceeded (injected)",
                                      "errors": [{"message": "Quota exceeded", "domain": "usageLimits", "reason": reason}],
                                      "status": status}}
                    return self._send(code, {"Content-Type": "application/json"}, json.dumps(body).encode())
                if mode == "expire_tokens":
                    self.app.expire_tokens()
                if mode == "html_502":
                    return self._send(502, {"Content-Type": "text/html"}, HTML_502)
                if mode in ("500", "503"):
                    return self._send(int(mode), {"Content-Type": "application/json"}, b'{"error":"injected"}')
                if mode == "429":
                    return self._send(429, {"Retry-After": str(fault.get("retry_after", "1"))}, b"slow down")
                if mode == "401":
                    return self._send(401, {"Content-Type": "application/json"},
                                      b'{"httpStatus": 401, "errors": [{"code": "INVALID_TOKEN", "description": "Unauthorized", "id": "0", "field": null}]}')
                if mode == "echo_auth":
                    # A careless server quoting the request's credentials back in an error.
                    echoed = ("x" * int(fault.get("pad", st.echo_pad)) + "bad request from %s" % self.headers.get("Authorization")).encode()
                    return self._send(400, {"Content-Type": "text/plain"}, echoed)
                if mode == "echo_500":
                    pad = int(fault.get("pad", st.echo_pad))
                    echoed = ("x" * pad + "%s %s %s\n" % (method, self.path, self.request_version)).encode()
                    echoed += "".join("%s: %s\n" % (k, v) for k, v in self.headers.items()).encode() + b"\n" + body
                    return self._send(500, {"Content-Type": "text/plain"}, echoed)
                if mode == "slow":
                    time.sleep(float(fault.get("delay_s", 5)))
                if mode == "close":
                    self.close_connection = True
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"partial\":")
                    self.wfile.flush()
                    return
            status, headers, payload = self.app(self, method, parts.path, query, body)
            if fault and fault["mode"] == "truncated":
                payload = payload[: max(1, len(payload) // 2)]
            if fault and fault["mode"] == "malformed":
                payload = b'{"totalCount": "many", "results": [{"id": 1, ' + b"\x00garbage" + b"]"
            return self._send(status, headers, payload)
        finally:
            with st.lock:
                st.in_flight -= 1

    def _send(self, status, headers, payload):
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            self._deadline = None
            remaining = deadline - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
        if self.gzip and len(payload) > 512 and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            payload = gzip.compress(payload, 1)
            headers = dict(headers, **{"Content-Encoding": "gzip"})
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")


def base_arguments(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--token-ttl", type=float, default=1800, help="seconds a token lives")
    p.add_argument("--fault", action="append", default=[], help="MODE:PATH[:COUNT[:PAGE]]")
    p.add_argument("--gzip", action="store_true", help="gzip answers when the client accepts it")
    p.add_argument("--echo-pad", type=int, default=0, help="filler bytes before the request an echo_500 fault echoes")
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (key in --tls-key)")
    p.add_argument("--tls-key")
    p.add_argument("--tls-client-ca", help="require a client certificate signed by this CA")
    return p


def serve(args, app):
    state = State(args.latency_ms, args.echo_pad)
    for spec in args.fault:
        parts = spec.split(":")
        f = {"mode": parts[0], "path": parts[1] if len(parts) > 1 else "/"}
        if len(parts) > 2:
            f["count"] = int(parts[2])
        if len(parts) > 3:
            f["page"] = int(parts[3])
        state.add_fault(f)
    handler = type("BoundHandler", (Handler,), {"state": state, "app": staticmethod(app), "gzip": args.gzip})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.tls_client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    # Everything built so far (fixtures, pre-rendered pages) lives until exit: keep it out of the cyclic GC, whose
    # full collections over a benchmark's millions of objects would otherwise stall answers.
    gc.freeze()
    print(server.server_address[1], flush=True)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


def bearer(handler):
    auth = handler.headers.get("Authorization") or ""
    return auth[7:] if auth.startswith("Bearer ") else None


def json_answer(status, obj):
    return status, {"Content-Type": "application/json"}, json.dumps(obj, separators=(",", ":")).encode()
