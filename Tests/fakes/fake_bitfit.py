#!/usr/bin/env python3
"""Strict fake bitFit API (shared/sources/bitfit.md): `api_token` query parameter on every call, `Accept: application/json`.

`GET /users` (optionally `search=`), `GET /users/<id>/assets`, `GET /assets/<id>`, from --fixture: a JSON object
{"users": [user...], "assets": [asset detail item...]} where each asset has `user_id`. Rude habits (rude.py):
`--booleans numeric` sends `is_deleted: 0` as the real API does; `--drop-field assets:FIELD:INDEX`.
"""
import json

import fakecommon
import rude


class BitFit:
    def __init__(self, args, data):
        self.args = args
        rude.drop_fields(data, args.drop_field)
        data = rude.booleans(data, args.booleans)   # real bitFit sends is_deleted: 0
        self.users = data["users"]
        self.assets = data["assets"]

    def __call__(self, handler, method, path, query, body):
        if query.get("api_token", [None])[0] != self.args.token:
            return fakecommon.json_answer(401, {"message": "Unauthenticated."})
        if "application/json" not in (handler.headers.get("Accept") or ""):
            return 406, {}, b"<html>json only with Accept</html>"
        if set(query) - {"api_token", "search"}:
            return fakecommon.json_answer(400, {"message": "unknown parameter"})
        parts = path.strip("/").split("/")
        if method != "GET":
            return fakecommon.json_answer(405, {"message": "method"})
        if parts == ["users"]:
            search = query.get("search", [None])[0]
            items = [u for u in self.users if search is None or search.lower() in u["email"].lower()]
            return fakecommon.json_answer(200, {"labels": {}, "items": items, "types": []})
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "assets":
            uid = int(parts[1])
            items = [{k: v for k, v in a.items() if k not in ("fields", "user", "config", "type", "customerStatus")}
                     for a in self.assets if a["user_id"] == uid]
            return fakecommon.json_answer(200, {"labels": {}, "items": items})
        if len(parts) == 2 and parts[0] == "assets":
            for a in self.assets:
                if str(a["id"]) == parts[1]:
                    return fakecommon.json_answer(200, {"item": a})
        return fakecommon.json_answer(404, {"message": "Not found"})


def main():
    p = fakecommon.base_arguments(__doc__)
    p.add_argument("--fixture", required=True)
    p.add_argument("--token", default="bitfit-t0ken")
    rude.add_arguments(p)
    args = p.parse_args()
    with open(args.fixture) as f:
        data = json.load(f)
    fakecommon.serve(args, BitFit(args, data))


if __name__ == "__main__":
    main()
