#!/usr/bin/env python3
"""Strict fake Microsoft Graph v1.0 (Intune managedDevices, Entra users with managers) and Entra token endpoint.

`POST /{tenant}/oauth2/v2.0/token` takes client credentials with `scope=https://graph.microsoft.com/.default` only.
`GET /v1.0/deviceManagement/managedDevices` needs `$select` of known properties (only those come back; the
"non-default" `ethernetMacAddress` is null in lists and real on `GET .../managedDevices/{id}?$select=ethernetMacAddress`),
`$top` 1..1000, and pages by `@odata.nextLink` (an absolute URL carrying `$skiptoken` and the original options).
`GET /v1.0/users` takes `$select`, `$top` 1..999 and `$expand=manager($select=...)`. Tokens expire after --token-ttl.
Faults (fakecommon) match `page` = the page index (from `$skiptoken`); `429_no_retry_after` is Intune's bare 429.
"""
import base64
import json
import secrets
import threading
import time
from urllib.parse import parse_qs, quote

import fakecommon

DEVICE_PROPERTIES = {
    "id", "deviceName", "managedDeviceName", "operatingSystem", "osVersion", "complianceState", "isEncrypted", "jailBroken",
    "isSupervised", "managementAgent", "managedDeviceOwnerType", "deviceEnrollmentType", "deviceRegistrationState",
    "partnerReportedThreatState", "enrolledDateTime", "lastSyncDateTime", "userId", "userPrincipalName", "userDisplayName",
    "emailAddress", "serialNumber", "imei", "meid", "iccid", "udid", "wiFiMacAddress", "ethernetMacAddress", "azureADDeviceId",
    "azureADRegistered", "model", "manufacturer", "phoneNumber", "androidSecurityPatchLevel", "totalStorageSpaceInBytes",
    "freeStorageSpaceInBytes", "physicalMemoryInBytes", "deviceHealthAttestationState",
}
NON_DEFAULT = {"ethernetMacAddress", "physicalMemoryInBytes"}
USER_PROPERTIES = {"id", "displayName", "mail", "userPrincipalName", "accountEnabled", "department", "jobTitle", "officeLocation",
                   "companyName", "employeeOrgData", "employeeId", "givenName", "surname"}
LIMITS = {"devices": 1000, "users": 999}


def graph_error(status, code, message):
    return fakecommon.json_answer(status, {"error": {"code": code, "message": message,
                                                     "innerError": {"date": "2026-03-02T03:10:44", "request-id": "fake"}}})


def generated_device(i):
    n = i + 1
    windows = n % 2 == 0
    return {"id": "00000000-0000-4000-9000-%012d" % n, "deviceName": "LAPTOP-%05d" % n if windows else "Phone %d" % n,
            "operatingSystem": "Windows" if windows else "iOS", "osVersion": "10.0.22631.3296" if windows else "17.3.1",
            "complianceState": "compliant" if n % 9 else "noncompliant", "isEncrypted": n % 11 != 0, "jailBroken": "Unknown" if windows else "False",
            "userPrincipalName": "user%05d@example.com" % (n % 50000), "emailAddress": "user%05d@example.com" % (n % 50000),
            "serialNumber": "ISN%07d" % n, "wiFiMacAddress": "5c87%08x" % n, "ethernetMacAddress": "5c88%08x" % n, "imei": "",
            "azureADDeviceId": "aad-%07d" % n, "lastSyncDateTime": "2026-03-01T21:47:09Z", "managedDeviceOwnerType": "company",
            "partnerReportedThreatState": "unknown"}


def generated_user(i):
    return {"id": "u%07d" % i, "displayName": "User %d" % i, "mail": "user%05d@example.com" % i,
            "userPrincipalName": "user%05d@example.com" % i, "accountEnabled": i % 97 != 0, "department": "Dept %d" % (i % 40),
            "jobTitle": "Engineer", "officeLocation": "HQ", "manager": "user%05d@example.com" % (i // 10) if i else None}


class Graph:
    def __init__(self, args, devices, users):
        self.args = args
        self.lists = {"devices": devices, "users": users}
        self.by_mail = {u["mail"].lower(): u for u in users if u.get("mail")}
        self.tokens = {}
        self.lock = threading.Lock()
        self.cache = {}
        self.secret = secrets.token_hex(6)
        # Every query string a Graph list or item call carried, in order, for tests that assert what was asked
        # for (`GET /_queries`, no token needed: it is the fake's own control endpoint).
        self.queries = []

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    def token(self, handler, tenant, body):
        if handler.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return fakecommon.json_answer(400, {"error": "invalid_request"})
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if tenant != self.args.tenant:
            return fakecommon.json_answer(400, {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."})
        if form.get("grant_type") != "client_credentials":
            return fakecommon.json_answer(400, {"error": "unsupported_grant_type"})
        if form.get("scope") != "https://graph.microsoft.com/.default":
            return fakecommon.json_answer(400, {"error": "invalid_scope", "error_description": "AADSTS70011: The provided value for scope is not valid."})
        if form.get("client_id") != self.args.client_id:
            return fakecommon.json_answer(400, {"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found."})
        if form.get("client_secret") != self.args.client_secret:
            return fakecommon.json_answer(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
        token = "eyJ0eXAiOiJKV1QifQ.fake-" + secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.time() + self.args.token_ttl
        ttl = int(self.args.token_ttl)
        return fakecommon.json_answer(200, {"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": token})

    def skiptoken(self, kind, index):
        return base64.urlsafe_b64encode(("%s:%d:%s" % (kind, index, self.secret)).encode()).decode().rstrip("=")

    def skip_index(self, kind, token):
        try:
            k, index, secret = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        except Exception:
            return None
        return int(index) if k == kind and secret == self.secret else None

    def page_of(self, path, query):
        kind = "users" if path.endswith("/users") else "devices"
        token = query.get("$skiptoken", [None])[0]
        return "0" if token is None else str(self.skip_index(kind, token))

    def rendered(self, kind, select, top, expand):
        key = (kind, select, top, expand)
        with self.lock:
            if key in self.cache:
                return self.cache[key]
        fields = select.split(",")
        rows = []
        for x in self.lists[kind]:
            r = {f: (None if kind == "devices" and f in NON_DEFAULT else x.get(f)) for f in fields}
            if kind == "users" and expand:
                m = self.by_mail.get((x.get("manager") or "").lower())
                if m:
                    r["manager"] = {"@odata.type": "#microsoft.graph.user", "mail": m.get("mail"), "userPrincipalName": m.get("userPrincipalName")}
            rows.append(json.dumps(r, separators=(",", ":")))
        pages = [rows[i:i + top] for i in range(0, max(1, len(rows)), top)] or [[]]
        with self.lock:
            self.cache[key] = pages
        return pages

    def __call__(self, handler, method, path, query, body):
        if path == "/_queries":
            with self.lock:
                recorded = list(self.queries)
            return fakecommon.json_answer(200, {"queries": recorded})
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self.token(handler, parts[0], body)
        token = fakecommon.bearer(handler)
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None or expiry <= time.time():
            return graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        if method != "GET":
            return graph_error(405, "BadRequest", "method not allowed")
        with self.lock:
            self.queries.append({"path": path, "query": {k: v[0] for k, v in query.items()}})
        if path.startswith("/v1.0/deviceManagement/managedDevices/"):
            ident = path.rsplit("/", 1)[1]
            for d in self.lists["devices"]:
                if d["id"] == ident:
                    fields = (query.get("$select", [""])[0] or "id").split(",")
                    return fakecommon.json_answer(200, {f: d.get(f) for f in fields})
            return graph_error(404, "ResourceNotFound", "not found")
        if path == "/v1.0/deviceManagement/managedDevices":
            kind, known, expand_ok = "devices", DEVICE_PROPERTIES, False
        elif path == "/v1.0/users":
            kind, known, expand_ok = "users", USER_PROPERTIES, True
        else:
            return graph_error(404, "ResourceNotFound", "Resource not found for the segment.")
        allowed = {"$select", "$top", "$skiptoken", "$filter", "$count", "$orderby"} | ({"$expand"} if expand_ok else set())
        if set(query) - allowed:
            return graph_error(400, "BadRequest", "Query option '%s' is not allowed." % sorted(set(query) - allowed)[0])
        if "$skip" in query:
            return graph_error(400, "BadRequest", "$skip is not supported")
        select = query.get("$select", [None])[0]
        if not select or any(f not in known for f in select.split(",")):
            return graph_error(400, "BadRequest", "Could not find a property named in $select.")
        try:
            top = int(query.get("$top", ["100"])[0])
        except ValueError:
            return graph_error(400, "BadRequest", "Invalid $top")
        if top < 1 or top > LIMITS[kind]:
            return graph_error(400, "BadRequest", "Invalid page size specified: '%d'. Must be between 1 and %d inclusive." % (top, LIMITS[kind]))
        expand = query.get("$expand", [None])[0]
        if expand is not None and not expand.startswith("manager"):
            return graph_error(400, "BadRequest", "Could not find a navigation property")
        index = 0
        if "$skiptoken" in query:
            index = self.skip_index(kind, query["$skiptoken"][0])
            if index is None:
                return graph_error(400, "BadRequest", "Invalid skip token")
        pages = self.rendered(kind, select, top, expand)
        if index >= len(pages):
            return graph_error(400, "BadRequest", "Invalid skip token")
        context = "https://graph.microsoft.com/v1.0/$metadata#%s" % ("deviceManagement/managedDevices" if kind == "devices" else "users")
        out = '{"@odata.context":"%s"' % context
        if index + 1 < len(pages):
            host = handler.headers.get("Host")
            options = "$select=%s&$top=%d" % (select, top) + ("&$expand=%s" % quote(expand, safe="(),=$") if expand else "")
            out += ',"@odata.nextLink":"http://%s%s?%s&$skiptoken=%s"' % (host, path, options, self.skiptoken(kind, index + 1))
        out += ',"value":[%s]}' % ",".join(pages[index])
        return 200, {"Content-Type": "application/json;odata.metadata=minimal"}, out.encode()


def main():
    p = fakecommon.base_arguments(__doc__)
    p.add_argument("--devices-fixture")
    p.add_argument("--users-fixture")
    p.add_argument("--generate-devices", type=int, default=0)
    p.add_argument("--generate-users", type=int, default=0)
    p.add_argument("--tenant", default="contoso.onmicrosoft.com")
    p.add_argument("--client-id", default="11111111-2222-3333-4444-555555555555")
    p.add_argument("--client-secret", default="graph-s3cret")
    p.add_argument("--warm", help="devices:TOP,users:TOP pages to pre-render with the plugin's $select")
    p.add_argument("--warm-select-devices", default="")
    p.add_argument("--warm-select-users", default="")
    args = p.parse_args()
    devices, users = [], []
    if args.devices_fixture:
        with open(args.devices_fixture) as f:
            devices = json.load(f)
    if args.users_fixture:
        with open(args.users_fixture) as f:
            users = json.load(f)
    devices += [generated_device(i) for i in range(args.generate_devices)]
    users += [generated_user(i) for i in range(args.generate_users)]
    app = Graph(args, devices, users)
    for spec in (args.warm or "").split(","):
        if spec:
            kind, top = spec.split(":")
            select = args.warm_select_devices if kind == "devices" else args.warm_select_users
            app.rendered(kind, select, int(top), "manager($select=mail,userPrincipalName)" if kind == "users" else None)
    fakecommon.serve(args, app)


if __name__ == "__main__":
    main()
