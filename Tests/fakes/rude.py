"""Rude payload habits of real vendors, shared by the fakes and switched on per test (existing behaviour stays
the default).

- `--booleans json|numeric|string`: every JSON boolean in the records sent as is, as `1`/`0` (bitFit's
  `is_deleted: 0`), or as `"true"`/`"false"` (exports and proxies that stringify).
- `--drop-field LIST:FIELD:INDEX` (repeatable): record INDEX of LIST is sent without FIELD (a Google tenant's
  mobile device without `resourceId`).
"""


def add_arguments(p):
    p.add_argument("--booleans", choices=("json", "numeric", "string"), default="json",
                   help="how booleans in records are sent")
    p.add_argument("--drop-field", action="append", default=[], metavar="LIST:FIELD:INDEX",
                   help="send record INDEX of LIST without FIELD")


def booleans(obj, style):
    """`obj` with every boolean rewritten in `style`."""
    if style == "json":
        return obj
    if isinstance(obj, bool):
        if style == "numeric":
            return 1 if obj else 0
        return "true" if obj else "false"
    if isinstance(obj, dict):
        return {k: booleans(v, style) for k, v in obj.items()}
    if isinstance(obj, list):
        return [booleans(v, style) for v in obj]
    return obj


def drop_fields(lists, specs):
    """Applies `--drop-field` specs to `lists` (list name -> records), in place."""
    for spec in specs:
        name, field, index = spec.split(":")
        record = lists[name][int(index)]
        record.pop(field, None)
