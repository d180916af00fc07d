#!/usr/bin/env python3
"""Strict fake Google Workspace Admin SDK Directory API (mobile devices, ChromeOS devices, users) and token endpoint.

The token endpoint (`POST /token`) takes only the service-account JWT-bearer grant: it verifies the RS256 signature
with the test key pair's public key (Tests/fakes/keys/test-sa-public.json, checked with the stdlib), the header, `iss`,
`aud` (Google's documented token URLs), `iat`/`exp` (at most an hour, not expired, not from the future), `sub` (the
admin to impersonate) and that every scope was granted; anything else is rejected the way Google does. Lists page
exactly as documented: `maxResults` limits (mobile 100, ChromeOS 300, users 500), opaque `nextPageToken` absent on the
last page, result arrays absent when empty, FULL projection needed for security fields, `customer` or `domain`.
Faults (fakecommon): `403_rate_limit`, `403_quota`, `429_no_retry_after`, `expire_tokens`, `malformed`, ... with
`page` = the page index of a token-paged list.
"""
import base64
import hashlib
import json
import os
import secrets
import threading
import time
from urllib.parse import parse_qs

import fakecommon
import rude

KEYS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keys")
AUDIENCES = {"https://oauth2.googleapis.com/token", "https://accounts.google.com/o/oauth2/token"}
SCOPES = {
    "mobile": "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly",
    "chromeos": "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly",
    "users": "https://www.googleapis.com/auth/admin.directory.user.readonly",
}
LIMITS = {"mobile": 100, "chromeos": 300, "users": 500}
ARRAY = {"mobile": "mobiledevices", "chromeos": "chromeosdevices", "users": "users"}
KIND = {"mobile": "admin#directory#mobiledevices", "chromeos": "admin#directory#chromeosdevices", "users": "admin#directory#users"}
PARAMS = {
    "mobile": {"projection", "maxResults", "pageToken", "query", "orderBy", "sortOrder", "fields"},
    "chromeos": {"projection", "maxResults", "pageToken", "query", "orderBy", "sortOrder", "fields", "orgUnitPath", "includeChildOrgunits"},
    "users": {"customer", "domain", "projection", "maxResults", "pageToken", "query", "orderBy", "sortOrder", "viewType",
              "customFieldMask", "showDeleted", "fields"},
}
# What BASIC leaves out: the security state Stethoscope needs FULL for.
FULL_ONLY = {"mobile": {"deviceCompromisedStatus", "encryptionStatus", "devicePasswordStatus", "adbStatus", "developerOptionsStatus",
                        "unknownSourcesStatus", "securityPatchLevel", "applications", "otherAccountsInfo", "privilege"},
             "chromeos": {"bootMode", "osUpdateStatus", "recentUsers", "activeTimeRanges", "tpmVersionInfo", "autoUpdateThrough"},
             "users": {"customSchemas"}}
DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rs256_valid(signing_input, signature, n, e):
    """RSASSA-PKCS1-v1_5 with SHA-256, by the book (RFC 8017 §8.2.2)."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    m = pow(int.from_bytes(signature, "big"), e, n)
    em = m.to_bytes(k, "big")
    t = DIGEST_INFO_SHA256 + hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return em == expected


def google_error(code, reason, message, status):
    return fakecommon.json_answer(code, {"error": {"code": code, "message": message,
                                                   "errors": [{"message": message, "domain": "global", "reason": reason}], "status": status}})


def generated_mobile(i):
    n = i + 1
    android = n % 3 != 0
    d = {"kind": "admin#directory#mobiledevice", "resourceId": "RES%07d" % n, "deviceId": "dev%07d" % n,
         "serialNumber": "MSN%07d" % n, "email": ["user%05d@example.com" % (n % 50000)], "name": ["User %d" % n],
         "model": "Pixel 8" if android else "iPhone15,2", "type": "ANDROID" if android else "IOS_SYNC",
         "os": "Android 14" if android else "iOS 17.3", "status": "APPROVED",
         "deviceCompromisedStatus": "No compromise detected", "encryptionStatus": "Encrypted", "devicePasswordStatus": "On",
         "adbStatus": n % 17 == 0, "developerOptionsStatus": False, "unknownSourcesStatus": False,
         "wifiMacAddress": "a0:cc:%02x:%02x:%02x:%02x" % ((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255),
         "firstSync": "2025-11-03T16:20:41.118Z", "lastSync": "2026-03-01T21:47:09.902Z"}
    if android:
        d["imei"] = "35%013d" % n
    return d


def generated_chromeos(i):
    n = i + 1
    return {"kind": "admin#directory#chromeosdevice", "deviceId": "cros-%07d" % n, "serialNumber": "CSN%07d" % n, "status": "ACTIVE",
            "model": "HP Elite c640 14 inch G3 Chromebook", "macAddress": "3c5a%08x" % n, "osVersion": "122.0.6261.%d" % (n % 200),
            "bootMode": "Dev" if n % 50 == 0 else "Verified", "annotatedUser": "user%05d@example.com" % (n % 50000),
            "recentUsers": [{"type": "USER_TYPE_MANAGED", "email": "user%05d@example.com" % (n % 50000)}],
            "autoUpdateThrough": "2031-06-01T00:00:00Z", "orgUnitPath": "/Devices", "lastSync": "2026-03-01T22:05:37.210Z"}


def generated_user(i):
    n = i
    return {"kind": "admin#directory#user", "id": "1%020d" % n, "primaryEmail": "user%05d@example.com" % n,
            "name": {"givenName": "User", "familyName": str(n), "fullName": "User %d" % n}, "suspended": n % 97 == 0, "archived": False,
            "orgUnitPath": "/Org%d" % (n % 20), "organizations": [{"title": "Engineer", "department": "Dept %d" % (n % 40),
                                                                     "costCenter": "CC-%d" % (n % 10), "primary": True}],
            "relations": [{"type": "manager", "value": "user%05d@example.com" % (n // 10)}] if n else []}


class Google:
    def __init__(self, args, lists):
        self.args = args
        self.lists = lists
        with open(args.public_key) as f:
            key = json.load(f)
        self.n, self.e = int(key["n"], 16), int(key["e"])
        self.tokens = {}
        self.lock = threading.Lock()
        self.cache = {}
        self.secret = secrets.token_hex(8)

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    # ---- token endpoint -------------------------------------------------------------------------------------
    def token(self, handler, body):
        if handler.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return fakecommon.json_answer(400, {"error": "invalid_request", "error_description": "form body expected"})
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return fakecommon.json_answer(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        problem = self.check_jwt(form.get("assertion", ""))
        if problem:
            return fakecommon.json_answer(problem[0], {"error": problem[1], "error_description": problem[2]})
        scopes = set(json.loads(b64url(form["assertion"].split(".")[1]))["scope"].split(" "))
        token = "ya29.fake-" + secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = (time.time() + self.args.token_ttl, scopes)
        return fakecommon.json_answer(200, {"access_token": token, "expires_in": int(self.args.token_ttl), "token_type": "Bearer"})

    def check_jwt(self, jwt):
        parts = jwt.split(".")
        if len(parts) != 3:
            return 400, "invalid_grant", "Invalid JWT: not three parts"
        try:
            header, claims, signature = json.loads(b64url(parts[0])), json.loads(b64url(parts[1])), b64url(parts[2])
        except Exception:
            return 400, "invalid_grant", "Invalid JWT: not base64url JSON"
        if header.get("alg") != "RS256" or header.get("typ", "JWT") != "JWT":
            return 400, "invalid_grant", "Invalid JWT: alg must be RS256"
        if "kid" in header and header["kid"] != self.args.key_id:
            return 400, "invalid_grant", "Invalid JWT Signature."
        if not rs256_valid((parts[0] + "." + parts[1]).encode(), signature, self.n, self.e):
            return 400, "invalid_grant", "Invalid JWT Signature."
        if claims.get("iss") != self.args.client_email:
            return 401, "invalid_client", "The OAuth client was not found."
        if claims.get("aud") not in AUDIENCES:
            return 400, "invalid_grant", "Invalid JWT: aud is not the token endpoint"
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int):
            return 400, "invalid_grant", "Invalid JWT: iat and exp must be integers"
        if iat > now + 60 or exp <= now or exp - iat > 3600:
            return 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
        if claims.get("sub") != self.args.subject:
            return 400, "invalid_grant", "Invalid email or User ID"
        scopes = claims.get("scope", "").split(" ")
        granted = set(self.args.granted_scopes.split(",")) if self.args.granted_scopes else set(SCOPES.values())
        if not scopes or any(s not in granted for s in scopes):
            return 401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
        return None

    # ---- lists ----------------------------------------------------------------------------------------------
    def list_of(self, path):
        if path == "/admin/directory/v1/users":
            return "users", None
        parts = path.strip("/").split("/")
        if len(parts) == 7 and parts[:4] == ["admin", "directory", "v1", "customer"] and parts[5] == "devices" and parts[6] in ("mobile", "chromeos"):
            return parts[6], parts[4]
        return None, None

    def page_token(self, kind, size, projection, index):
        raw = "%s:%d:%s:%d:%s" % (kind, size, projection, index, self.secret)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def page_index(self, token):
        try:
            kind, size, projection, index, secret = b64url(token).decode().split(":")
        except Exception:
            return None
        return (kind, int(size), projection, int(index)) if secret == self.secret else None

    def page_of(self, path, query):
        token = query.get("pageToken", [None])[0]
        if token is None:
            return "0"
        found = self.page_index(token)
        return str(found[3]) if found else "-1"

    def rendered(self, kind, size, projection):
        """Every page of a list as bytes, built once: a benchmark then times paging, not JSON encoding."""
        key = (kind, size, projection)
        with self.lock:
            if key in self.cache:
                return self.cache[key]
        items = self.lists[kind]
        hidden = FULL_ONLY[kind] if projection not in ("FULL", "full", "custom") else set()
        rows = [json.dumps({k: v for k, v in x.items() if k not in hidden}, separators=(",", ":")) for x in items]
        pages = []
        count = max(1, (len(rows) + size - 1) // size)
        for i in range(count):
            chunk = rows[i * size:(i + 1) * size]
            head = '{"kind":"%s","etag":"\\"fake\\""' % KIND[kind]
            if chunk:
                head += ',"%s":[%s]' % (ARRAY[kind], ",".join(chunk))
            if i + 1 < count:
                head += ',"nextPageToken":"%s"' % self.page_token(kind, size, projection, i + 1)
            pages.append((head + "}").encode())
        with self.lock:
            self.cache[key] = pages
        return pages

    def __call__(self, handler, method, path, query, body):
        if path == "/token" and method == "POST":
            return self.token(handler, body)
        kind, customer = self.list_of(path)
        if kind is None or method != "GET":
            return google_error(404, "notFound", "Not Found", "NOT_FOUND")
        token = fakecommon.bearer(handler)
        with self.lock:
            issued = self.tokens.get(token)
        if issued is None or issued[0] <= time.time():
            return google_error(401, "authError", "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        if SCOPES[kind] not in issued[1]:
            return google_error(403, "forbidden", "Not Authorized to access this resource/api", "PERMISSION_DENIED")
        unknown = set(query) - PARAMS[kind]
        if unknown:
            return google_error(400, "invalidParameter", "Invalid parameter: %s" % sorted(unknown)[0], "INVALID_ARGUMENT")
        q = {k: v[0] for k, v in query.items()}
        if kind == "users":
            if ("customer" in q) == ("domain" in q):
                return google_error(400, "badRequest", "Bad Request", "INVALID_ARGUMENT")
            if q.get("customer", self.args.customer_id) not in ("my_customer", self.args.customer_id) or q.get("domain", "example.com") != "example.com":
                return google_error(400, "badRequest", "Bad Request", "INVALID_ARGUMENT")
            projection = q.get("projection", "basic")
            if projection not in ("basic", "custom", "full"):
                return google_error(400, "invalid", "Invalid value for projection", "INVALID_ARGUMENT")
        else:
            if customer not in ("my_customer", self.args.customer_id):
                return google_error(403, "forbidden", "Not Authorized to access this resource/api", "PERMISSION_DENIED")
            projection = q.get("projection", "BASIC")
            if projection not in ("BASIC", "FULL"):
                return google_error(400, "invalid", "Invalid value for projection", "INVALID_ARGUMENT")
        try:
            size = int(q.get("maxResults", "100"))
        except ValueError:
            return google_error(400, "invalid", "Invalid value for maxResults", "INVALID_ARGUMENT")
        if size < 1 or size > LIMITS[kind]:
            return google_error(400, "invalid", "Invalid value for: maxResults must be 1..%d" % LIMITS[kind], "INVALID_ARGUMENT")
        index = 0
        if "pageToken" in q:
            found = self.page_index(q["pageToken"])
            if found is None or found[:3] != (kind, size, projection):
                return google_error(400, "invalid", "Invalid page token", "INVALID_ARGUMENT")
            index = found[3]
        pages = self.rendered(kind, size, projection)
        if index >= len(pages):
            return google_error(400, "invalid", "Invalid page token", "INVALID_ARGUMENT")
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, pages[index]


def main():
    p = fakecommon.base_arguments(__doc__)
    p.add_argument("--mobile-fixture")
    p.add_argument("--chromeos-fixture")
    p.add_argument("--users-fixture")
    p.add_argument("--generate-mobile", type=int, default=0)
    p.add_argument("--generate-chromeos", type=int, default=0)
    p.add_argument("--generate-users", type=int, default=0)
    p.add_argument("--public-key", default=os.path.join(KEYS, "test-sa-public.json"))
    p.add_argument("--key-id", default="0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6")
    p.add_argument("--client-email", default="stethoscope@stethoscope-test.iam.gserviceaccount.com")
    p.add_argument("--subject", default="admin@example.com", help="the admin the service account may impersonate")
    p.add_argument("--granted-scopes", help="comma-separated scopes delegated to the service account (default: all three)")
    p.add_argument("--customer-id", default="C03az79cb")
    p.add_argument("--warm", help="comma-separated kind:size pages to pre-render (FULL / full projection)")
    rude.add_arguments(p)   # --booleans numeric|string, --drop-field mobile:resourceId:3 (real tenants send such records)
    args = p.parse_args()
    lists = {}
    for kind, fixture, n, gen in (("mobile", args.mobile_fixture, args.generate_mobile, generated_mobile),
                                  ("chromeos", args.chromeos_fixture, args.generate_chromeos, generated_chromeos),
                                  ("users", args.users_fixture, args.generate_users, generated_user)):
        items = []
        if fixture:
            with open(fixture) as f:
                items = json.load(f)
        lists[kind] = items + [gen(i) for i in range(n)]
    rude.drop_fields(lists, args.drop_field)
    lists = rude.booleans(lists, args.booleans)
    app = Google(args, lists)
    for spec in (args.warm or "").split(","):
        if spec:
            kind, size = spec.split(":")
            app.rendered(kind, int(size), "full" if kind == "users" else "FULL")
    fakecommon.serve(args, app)


if __name__ == "__main__":
    main()
