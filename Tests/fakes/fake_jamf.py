#!/usr/bin/env python3
"""Strict fake Jamf Pro server (Pro API computers-inventory, Classic JSSResource, both auth flows).

Serves the computers in --fixture (a JSON list in the Pro API shape) plus --generate N synthetic ones.
Requires the right auth header on every call, expires tokens after --token-ttl seconds, pages exactly as
documented (zero-based `page`, `page-size`, repeatable `section`, `sort`), and returns only the requested
sections (others null). See fakecommon.py for faults, latency and the stdin/port protocol.
"""
import base64
import json
import os
import secrets
import threading
import time
from urllib.parse import parse_qs

import fakecommon

SECTIONS = {
    "GENERAL": "general", "HARDWARE": "hardware", "OPERATING_SYSTEM": "operatingSystem",
    "DISK_ENCRYPTION": "diskEncryption", "SECURITY": "security", "USER_AND_LOCATION": "userAndLocation",
    "SOFTWARE_UPDATES": "softwareUpdates", "EXTENSION_ATTRIBUTES": "extensionAttributes",
    "APPLICATIONS": "applications", "SERVICES": "services", "STORAGE": "storage", "PURCHASING": "purchasing",
    "LOCAL_USER_ACCOUNTS": "localUserAccounts", "CONFIGURATION_PROFILES": "configurationProfiles",
}
SORTABLE = {"id", "udid", "general.name", "general.reportDate", "general.lastContactTime", "operatingSystem.version"}


def generated(i):
    n = i + 1
    encrypted = n % 10 != 0
    ea = lambda name, value: {"definitionId": str(len(name)), "name": name, "description": None, "enabled": True,
                              "multiValue": False, "values": [value], "dataType": "STRING", "options": [], "inputType": "SCRIPT"}
    return {
        "id": str(100000 + n), "udid": "00000000-0000-4000-8000-%012d" % n,
        "general": {"name": "mac-%05d" % n, "platform": "Mac", "reportDate": "2026-03-01T22:14:05Z",
                    "lastContactTime": "2026-03-02T03:58:41Z", "remoteManagement": {"managed": True},
                    "supervised": True, "lastLoggedInUsernameBinary": "user%05d" % n, "extensionAttributes": []},
        "hardware": {"make": "Apple", "model": "MacBook Pro (14-inch, 2023)", "modelIdentifier": "Mac14,9",
                     "serialNumber": "GEN%09d" % n, "macAddress": "3C:06:%02X:%02X:%02X:01" % ((n >> 16) & 255, (n >> 8) & 255, n & 255),
                     "altMacAddress": None, "appleSilicon": True, "extensionAttributes": []},
        "operatingSystem": {"name": "macOS", "version": "14.%d.1" % (n % 6), "build": "23E224",
                            "fileVault2Status": "BOOT_ENCRYPTED" if encrypted else "NOT_ENCRYPTED", "extensionAttributes": []},
        "diskEncryption": {"bootPartitionEncryptionDetails": {"partitionName": "Macintosh HD", "partitionFileVault2State": "ENCRYPTED" if encrypted else "UNENCRYPTED",
                                                              "partitionFileVault2Percent": 100 if encrypted else 0},
                           "fileVault2Enabled": encrypted, "fileVault2EnabledUserNames": []},
        "security": {"sipStatus": "ENABLED", "gatekeeperStatus": "APP_STORE_AND_IDENTIFIED_DEVELOPERS",
                     "autoLoginDisabled": True, "remoteDesktopEnabled": False, "firewallEnabled": n % 7 != 0},
        "userAndLocation": {"username": "user%05d" % n, "realname": "User %d" % n, "email": "user%05d@example.com" % n,
                            "extensionAttributes": []},
        "softwareUpdates": [],
        "extensionAttributes": [ea("Screen Saver Lock Enabled", "Enabled" if n % 5 else "Disabled"), ea("Remote Login", "Off")],
        "applications": [], "services": [],
    }


class Jamf:
    def __init__(self, args, computers):
        self.args = args
        self.computers = sorted(computers, key=lambda c: int(c["id"]))
        self.tokens = {}
        self.lock = threading.Lock()
        self.cache = {}

    def issue(self):
        token = "jamf-" + secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.time() + self.args.token_ttl
        return token

    def expire_tokens(self):
        """Every issued token dies at once (a server restart, a revocation): the `expire_tokens` fault."""
        with self.lock:
            self.tokens.clear()

    def authorized(self, handler, classic=False):
        if classic and self.args.classic_basic and handler.headers.get("Authorization") == self.basic():
            return True
        token = fakecommon.bearer(handler)
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and expiry > time.time()

    def basic(self):
        return "Basic " + base64.b64encode(("%s:%s" % (self.args.user, self.args.password)).encode()).decode()

    def __call__(self, handler, method, path, query, body):
        if path.startswith("/api/") and self.args.no_token_endpoint:
            # An older on-premises server: no Jamf Pro API at all, only the Classic API.
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>"
        if path == "/api/v1/auth/token" and method == "POST":
            want = self.basic()
            if handler.headers.get("Authorization") != want:
                return fakecommon.json_answer(401, {"httpStatus": 401, "errors": []})
            at = time.time() + self.args.token_ttl
            expires = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + ".%03dZ" % int((at % 1) * 1000)
            return fakecommon.json_answer(200, {"token": self.issue(), "expires": expires})
        if path == "/api/oauth/token" and method == "POST":
            if handler.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                return fakecommon.json_answer(400, {"error": "invalid_request"})
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") != "client_credentials":
                return fakecommon.json_answer(400, {"error": "unsupported_grant_type"})
            if form.get("client_id") != self.args.client_id or form.get("client_secret") != self.args.client_secret:
                return fakecommon.json_answer(401, {"error": "invalid_client"})
            return fakecommon.json_answer(200, {"access_token": self.issue(), "scope": "api-role:7", "token_type": "Bearer",
                                                "expires_in": int(self.args.token_ttl)})
        if not self.authorized(handler, classic=path.startswith("/JSSResource/")):
            return fakecommon.json_answer(401, {"httpStatus": 401, "errors": [{"code": "INVALID_TOKEN", "description": "Unauthorized", "id": "0", "field": None}]})
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "api" and parts[2] == "computers-inventory" and method == "GET":
            return self.inventory(parts[1], query)
        if path.startswith("/JSSResource/"):
            if "application/json" not in (handler.headers.get("Accept") or ""):
                return 406, {}, b"<error>XML only without Accept: application/json</error>"
            if path == "/JSSResource/computers":
                return fakecommon.json_answer(200, {"computers": [{"id": int(c["id"]), "name": c["general"]["name"]} for c in self.computers]})
            if path == "/JSSResource/jssuser":
                return fakecommon.json_answer(200, {"user": {"name": self.args.user}})
            if path.startswith("/JSSResource/computers/id/"):
                ident = path[len("/JSSResource/computers/id/"):].split("/", 1)[0]
                for c in self.computers:
                    if c["id"] == ident:
                        return fakecommon.json_answer(200, {"computer": classic(c)})
                return 404, {}, b"Not Found"
        return fakecommon.json_answer(404, {"httpStatus": 404, "errors": [{"code": "NOT_FOUND"}]})

    def inventory(self, version, query):
        if version not in self.args.versions.split(","):
            return fakecommon.json_answer(404, {"httpStatus": 404, "errors": [{"code": "NOT_FOUND", "description": "no such API version"}]})
        if "sections" in query or "page_size" in query or "pageSize" in query:
            return fakecommon.json_answer(400, {"httpStatus": 400, "errors": [{"code": "INVALID_PARAMETER"}]})
        sections = query.get("section", ["GENERAL"])
        if any(s not in SECTIONS for s in sections):
            return fakecommon.json_answer(400, {"httpStatus": 400, "errors": [{"code": "INVALID_SECTION"}]})
        try:
            page = int(query.get("page", ["0"])[0])
            size = int(query.get("page-size", ["100"])[0])
        except ValueError:
            return fakecommon.json_answer(400, {"httpStatus": 400, "errors": [{"code": "INVALID_PARAMETER"}]})
        if page < 0 or size < 1 or size > 2000:
            return fakecommon.json_answer(400, {"httpStatus": 400, "errors": [{"code": "INVALID_PAGE_SIZE"}]})
        sort = query.get("sort", ["general.name:asc"])[0]
        for key in sort.split(","):
            field, _, direction = key.partition(":")
            if field not in SORTABLE or direction not in ("asc", "desc"):
                return fakecommon.json_answer(400, {"httpStatus": 400, "errors": [{"code": "INVALID_FIELD"}]})
        rows = self.rendered(version, tuple(sorted(set(sections))), sort)
        chunk = rows[page * size:(page + 1) * size]
        payload = b'{"totalCount":%d,"results":[' % len(rows) + b",".join(chunk) + b"]}"
        return 200, {"Content-Type": "application/json"}, payload

    def rendered(self, version, sections, sort):
        key = (version, sections, sort)
        with self.lock:
            if key in self.cache:
                return self.cache[key]
        wanted = {SECTIONS[s] for s in sections}
        ordered = self.computers
        if sort.startswith("general.name"):
            ordered = sorted(ordered, key=lambda c: c["general"]["name"], reverse=sort.endswith("desc"))
        elif sort.startswith("id:desc"):
            ordered = list(reversed(ordered))
        out = []
        for c in ordered:
            r = {"id": c["id"], "udid": c["udid"]}
            for s in SECTIONS.values():
                r[s] = c.get(s) if s in wanted else None
            if version == "v4" and r.get("general"):
                g = dict(r["general"])
                g["lastContact"] = g.pop("lastContactTime", None)
                r["general"] = g
            out.append(json.dumps(r, separators=(",", ":")).encode())
        with self.lock:
            self.cache[key] = out
        return out


def classic(c):
    """The Classic API shape of a Pro API record (same facts, snake_case, scalar EA values)."""
    g, h, o = c.get("general") or {}, c.get("hardware") or {}, c.get("operatingSystem") or {}
    d, s, u = c.get("diskEncryption") or {}, c.get("security") or {}, c.get("userAndLocation") or {}
    boot = d.get("bootPartitionEncryptionDetails") or {}
    state = {"ENCRYPTED": "Encrypted", "ENCRYPTING": "Encrypting"}.get(boot.get("partitionFileVault2State"), "Not Encrypted")
    report = (g.get("reportDate") or "").replace("Z", ".000+0000")
    return {
        "general": {"id": int(c["id"]), "name": g.get("name"), "mac_address": h.get("macAddress") or "",
                    "alt_mac_address": h.get("altMacAddress") or "", "serial_number": h.get("serialNumber"),
                    "udid": c["udid"], "platform": "Mac", "report_date_utc": report,
                    "remote_management": {"managed": True}},
        "location": {"username": u.get("username") or "", "realname": u.get("realname") or "", "email_address": u.get("email") or ""},
        "hardware": {"model": h.get("model"), "os_name": o.get("name"), "os_version": o.get("version"), "os_build": o.get("build"),
                     "sip_status": {"ENABLED": "Enabled", "DISABLED": "Disabled"}.get(s.get("sipStatus"), "Not collected"),
                     "gatekeeper_status": "Disabled" if s.get("gatekeeperStatus") == "DISABLED" else "App Store and identified developers",
                     "storage": [{"disk": "disk0", "drive_capacity_mb": 1000240,
                                  "partition": {"name": "Macintosh HD (Boot Partition)", "type": "boot", "filevault2_status": state,
                                                "filevault2_percent": boot.get("partitionFileVault2Percent") or 0}}]},
        "security": {"firewall_enabled": s.get("firewallEnabled")},
        "software": {"available_software_updates": [x.get("name") for x in c.get("softwareUpdates") or []],
                     "running_services": [x.get("name") for x in c.get("services") or []],
                     "applications": [{"name": a.get("name"), "version": a.get("version"), "bundle_id": a.get("bundleId")} for a in c.get("applications") or []]},
        "extension_attributes": [{"id": int(e.get("definitionId") or 0), "name": e["name"], "type": "String", "multi_value": False,
                                  "value": (e.get("values") or [""])[0]} for e in c.get("extensionAttributes") or []],
    }


def main():
    p = fakecommon.base_arguments(__doc__)
    p.add_argument("--fixture", help="JSON list of computers in the Pro API shape")
    p.add_argument("--generate", type=int, default=0, help="add N synthetic computers")
    p.add_argument("--user", default="batch")
    p.add_argument("--password", default="hunter2-password")
    p.add_argument("--client-id", default="stethoscope")
    p.add_argument("--client-secret", default="s3cret-client")
    p.add_argument("--versions", default="v1,v2,v3,v4", help="API versions of computers-inventory served")
    p.add_argument("--no-token-endpoint", action="store_true", help="404 on every /api/ path (old server: Classic API only)")
    p.add_argument("--classic-basic", action="store_true", help="the Classic API also takes HTTP Basic credentials")
    p.add_argument("--warm-sections", help="comma-separated sections to pre-render (id:asc)")
    args = p.parse_args()
    computers = []
    if args.fixture:
        with open(args.fixture) as f:
            computers = json.load(f)
    computers += [generated(i) for i in range(args.generate)]
    app = Jamf(args, computers)
    if args.warm_sections:
        # Renders the pages' JSON before the port is printed, so a benchmark times paging, not rendering.
        for version in args.versions.split(","):
            app.rendered(version, tuple(sorted(set(args.warm_sections.split(",")))), "id:asc")
    fakecommon.serve(args, app)


if __name__ == "__main__":
    main()
