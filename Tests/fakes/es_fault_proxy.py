"""A fault-injecting HTTP proxy in front of an Elasticsearch/OpenSearch server (tests only; Python stdlib).

    es_fault_proxy.py --upstream http://127.0.0.1:PORT

Binds 127.0.0.1 on a free port, prints the port as its first stdout line, and exits when its stdin closes.
Everything is forwarded unchanged except `_bulk` requests that meet a queued fault, queued by
`POST /_proxy/faults {"faults": [{"mode": ..., "count": N, ...}]}` (`count`: how many requests it hits; `skip`: let that many pass first):

- `item_429`     forward all but every `every`-th item (positions 0, every, 2*every, ...), answer those 429
                 (the rewritten answer keeps the order of the request: the server never saw them)
- `item_503`     the same with 503
- `429`, `503`   answer the whole request with that status (`retry_after` seconds, default 0), forward nothing
- `413`          answer 413 with an empty body when the body is larger than `max_bytes` (only those count)
- `401`, `403`   answer that status
- `slow`         wait `delay_s` seconds, then forward
- `drop`         read the request, close the connection without an answer
- `drop_after`   forward, then close the connection without passing the answer on (indexed, but unacknowledged)
- `commit_sql`   a concurrent writer: run `sql` (a script) on the SQLite database `db` and commit it, then forward
                 (the exporter's open read snapshot of that database is then stale)

`GET /_proxy/stats` answers {"bulk_requests", "bulk_items", "faults_applied": {mode: n}, "max_in_flight",
"largest_body"}. gzip request bodies are decompressed before forwarding.
"""
import argparse
import gzip
import json
import os
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
FAULTS = []
STATS = {"bulk_requests": 0, "bulk_items": 0, "faults_applied": {}, "max_in_flight": 0, "largest_body": 0}
IN_FLIGHT = [0]
UPSTREAM = [""]


def take_fault(body_len):
    with LOCK:
        for f in FAULTS:
            if f["mode"] == "413" and body_len <= f.get("max_bytes", 0):
                continue
            if f.get("skip", 0) > 0:
                f["skip"] -= 1
                continue
            f["count"] -= 1
            if f["count"] <= 0:
                FAULTS.remove(f)
            STATS["faults_applied"][f["mode"]] = STATS["faults_applied"].get(f["mode"], 0) + 1
            return f
    return None


def forward(method, path, body, headers):
    req = urllib.request.Request(UPSTREAM[0] + path, data=body, method=method)
    for k in ("Content-Type", "Authorization", "Accept"):
        if headers.get(k):
            req.add_header(k, headers[k])
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "application/json")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "application/json")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if body is not None and self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        path = self.path
        if path == "/_proxy/faults" and self.command == "POST":
            faults = json.loads(body or b"{}").get("faults", [])
            with LOCK:
                for f in faults:
                    f.setdefault("count", 1)
                    FAULTS.append(f)
            return self.answer(200, b'{"ok":true}')
        if path == "/_proxy/stats":
            with LOCK:
                return self.answer(200, json.dumps(STATS).encode())
        if not path.split("?")[0].endswith("/_bulk"):
            status, data, ctype = forward(self.command, path, body, self.headers)
            return self.answer(status, data, ctype)
        with LOCK:
            IN_FLIGHT[0] += 1
            STATS["max_in_flight"] = max(STATS["max_in_flight"], IN_FLIGHT[0])
            STATS["largest_body"] = max(STATS["largest_body"], len(body or b""))
        try:
            self.bulk(path, body or b"")
        finally:
            with LOCK:
                IN_FLIGHT[0] -= 1

    def bulk(self, path, body):
        fault = take_fault(len(body))
        mode = fault["mode"] if fault else None
        if mode in ("429", "503"):
            return self.answer(int(mode), b'{"error":{"type":"es_rejected_execution_exception","reason":"busy"},"status":%s}' % mode.encode(),
                               extra={"Retry-After": str(fault.get("retry_after", 0))})
        if mode in ("401", "403"):
            return self.answer(int(mode), b'{"error":{"type":"security_exception","reason":"unable to authenticate"},"status":%s}' % mode.encode())
        if mode == "413":
            return self.answer(413, b"")
        if mode == "drop":
            return self.drop()
        if mode == "slow":
            time.sleep(float(fault.get("delay_s", 1)))
        if mode == "commit_sql":
            con = sqlite3.connect(fault["db"], timeout=30)
            con.executescript(fault["sql"])
            con.commit()
            con.close()
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        pairs = [lines[i:i + 2] for i in range(0, len(lines), 2)]
        with LOCK:
            STATS["bulk_requests"] += 1
            STATS["bulk_items"] += len(pairs)
        rejected = set()
        if mode in ("item_429", "item_503"):
            every = max(1, int(fault.get("every", 2)))
            rejected = set(range(0, len(pairs), every))
        kept = [p for i, p in enumerate(pairs) if i not in rejected]
        items = []
        if kept:
            status, data, ctype = forward("POST", path, b"\n".join(b"\n".join(p) for p in kept) + b"\n", self.headers)
            if status >= 300:
                return self.answer(status, data, ctype)
            items = json.loads(data).get("items", [])
        if mode == "drop_after":
            return self.drop()
        if not rejected:
            return self.answer(200, json.dumps({"errors": any("error" in next(iter(i.values())) for i in items), "items": items}).encode())
        code = 429 if mode == "item_429" else 503
        out, it = [], iter(items)
        for i, p in enumerate(pairs):
            if i in rejected:
                action = json.loads(p[0])
                meta = next(iter(action.values()))
                out.append({next(iter(action)): {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": code,
                                                 "error": {"type": "es_rejected_execution_exception", "reason": "rejected by proxy"}}})
            else:
                out.append(next(it))
        self.answer(200, json.dumps({"errors": True, "items": out}).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    UPSTREAM[0] = args.upstream.rstrip("/")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
