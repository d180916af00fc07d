#!/usr/bin/env python3
"""Strict fake Fleet server: `/api/v1/fleet/hosts` (page/per_page, no total, ends with a short page),
`/hosts/count`, `/hosts/:id` (detail with disk_encryption_enabled), `/hosts/:id/device_mapping`, `/me`.

Every call needs `Authorization: Bearer <--token>`; the token expires --token-ttl seconds after start.
List hosts carry `policies` only with populate_policies=true and `device_mapping` only with
device_mapping=true; detail-only fields (disk_encryption_enabled, users) never appear in the list.
See fakecommon.py for faults, latency and the stdin/port protocol.
"""
import json
import time

import fakecommon

DETAIL_ONLY = ("disk_encryption_enabled", "users", "labels", "software")


def error(status, message):
    return fakecommon.json_answer(status, {"message": message, "errors": [{"name": "base", "reason": message}], "uuid": "00000000-fake"})


class Fleet:
    def __init__(self, args, hosts):
        self.args = args
        self.hosts = sorted(hosts, key=lambda h: h["id"])
        self.started = time.time()
        self.deleted = {int(x) for x in (args.deleted or "").split(",") if x}
        for h in self.hosts:
            if str(h["id"]) in (args.never_seen or "").split(","):
                # Fleet's "never" values: Go's zero time and epoch-like defaults.
                h.update(seen_time="0001-01-01T00:00:00Z", detail_updated_at="1970-01-01T00:00:00Z",
                         policy_updated_at="1970-01-02T00:00:00Z", last_enrolled_at="0001-01-01T00:00:00Z")

    def __call__(self, handler, method, path, query, body):
        if fakecommon.bearer(handler) != self.args.token:
            return error(401, "Authentication required")
        if time.time() > self.started + self.args.token_ttl:
            return error(401, "Authentication required")
        if method != "GET":
            return error(405, "Method not allowed")
        team = query.get("team_id", [None])[0]
        hosts = [h for h in self.hosts if team is None or str(h.get("team_id")) == team]
        if path == "/api/v1/fleet/me":
            return fakecommon.json_answer(200, {"user": {"id": 1, "name": "stethoscope", "email": "stethoscope@example.com", "global_role": "observer", "api_only": True}})
        if path == "/api/v1/fleet/hosts/count":
            return fakecommon.json_answer(200, {"count": len(hosts) + self.args.phantom_hosts})
        if path == "/api/v1/fleet/hosts":
            if "per_page" not in query:
                return error(400, "per_page is required by this fake (the default is undocumented)")
            try:
                page, per_page = int(query.get("page", ["0"])[0]), int(query["per_page"][0])
            except ValueError:
                return error(400, "Bad request")
            if query.get("order_key", [""])[0] not in ("id", "hostname", "seen_time"):
                return error(400, "a stable order_key is required")
            if query.get("order_direction", ["asc"])[0] == "desc":
                hosts = list(reversed(hosts))
            if self.args.max_per_page and per_page > self.args.max_per_page:
                per_page = self.args.max_per_page  # silently, as a server with a lower cap (or a proxy) does
            out = []
            for h in hosts[page * per_page:(page + 1) * per_page]:
                h = {k: v for k, v in h.items() if k not in DETAIL_ONLY}
                if query.get("populate_policies", ["false"])[0] != "true":
                    h.pop("policies", None)
                if query.get("device_mapping", ["false"])[0] != "true":
                    h.pop("device_mapping", None)
                out.append(h)
            return fakecommon.json_answer(200, {"hosts": out})
        parts = path.strip("/").split("/")
        if len(parts) >= 5 and parts[:4] == ["api", "v1", "fleet", "hosts"] and parts[4].isdigit():
            match = [h for h in self.hosts if h["id"] == int(parts[4]) and h["id"] not in self.deleted]
            if not match:
                return error(404, "Resource Not Found")
            h = match[0]
            if len(parts) == 5:
                return fakecommon.json_answer(200, {"host": {k: v for k, v in h.items() if k != "device_mapping"}})
            if len(parts) == 6 and parts[5] == "device_mapping":
                return fakecommon.json_answer(200, {"host_id": h["id"], "device_mapping": h.get("device_mapping") or []})
        return error(404, "Resource Not Found")


def main():
    p = fakecommon.base_arguments(__doc__)
    p.add_argument("--fixture", required=True, help="JSON list of hosts in the host-detail shape")
    p.add_argument("--token", default="fleet-api-token-0123456789")
    p.add_argument("--max-per-page", type=int, default=0, help="silently clamp per_page to this (0: no clamp)")
    p.add_argument("--phantom-hosts", type=int, default=0, help="/hosts/count counts this many hosts the list never returns")
    p.add_argument("--deleted", help="comma-separated host ids listed but deleted: their detail calls answer 404")
    p.add_argument("--never-seen", help="comma-separated host ids whose timestamps are Fleet's never values")
    args = p.parse_args()
    with open(args.fixture) as f:
        hosts = json.load(f)
    fakecommon.serve(args, Fleet(args, hosts))


if __name__ == "__main__":
    main()
