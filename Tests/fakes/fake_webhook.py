"""Fake chat webhook (Slack incoming webhook or a plain JSON endpoint) for the `webhooks:` sink's tests.

Records every POST it accepts; `GET /_received` answers them as a JSON list of {"path", "content_type",
"authorization", "body"} (the body as text). Rude like the real ones: `--slack` answers 400 `invalid_payload`
(Slack's text/plain answer) to a body without a string `text` or with blocks lacking a `type`, and 200 `ok`;
`--token T` answers 401 without `Authorization: Bearer T`; a body that is not JSON, or sent without
`Content-Type: application/json`, gets 400/415. Faults from fakecommon (`--fault 500:/hook:2` answers 500 twice,
then succeeds) test retries.
"""
import json
import threading

import fakecommon


class Webhook:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.received = []

    def __call__(self, handler, method, path, query, body):
        if path == "/_received" and method == "GET":
            with self.lock:
                return fakecommon.json_answer(200, self.received)
        if method != "POST":
            return 405, {"Content-Type": "text/plain"}, b"method not allowed"
        if self.args.token and handler.headers.get("Authorization") != "Bearer " + self.args.token:
            return 401, {"Content-Type": "text/plain"}, b"invalid_token"
        if "application/json" not in (handler.headers.get("Content-Type") or ""):
            return 415, {"Content-Type": "text/plain"}, b"unsupported media type"
        try:
            doc = json.loads(body)
        except ValueError:
            return 400, {"Content-Type": "text/plain"}, b"invalid_json"
        if self.args.slack:
            blocks = doc.get("blocks", [])
            if not isinstance(doc.get("text"), str) or not doc["text"] or not isinstance(blocks, list) \
                    or any(not isinstance(b, dict) or "type" not in b for b in blocks):
                return 400, {"Content-Type": "text/plain"}, b"invalid_payload"
        with self.lock:
            self.received.append({"path": path, "content_type": handler.headers.get("Content-Type"),
                                  "authorization": handler.headers.get("Authorization"),
                                  "body": body.decode("utf-8")})
        return 200, {"Content-Type": "text/plain"}, b"ok"


def main():
    p = fakecommon.base_arguments(__doc__)
    p.add_argument("--slack", action="store_true", help="validate Slack's text/blocks payload")
    p.add_argument("--token", help="require Authorization: Bearer TOKEN")
    args = p.parse_args()
    fakecommon.serve(args, Webhook(args))


if __name__ == "__main__":
    main()
