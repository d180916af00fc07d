"""Checks Schemas/config.schema.json against every sample config in the repo, and that it rejects bad ones.

Run by `make test` with the venv's python (jsonschema from PyPI). The Swift loader is tested on the same
samples in the Swift suites; this keeps the published schema honest.
"""
import glob
import json
import os
import subprocess
import sys

import jsonschema
import yaml  # PyYAML ships with the venv requirements

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
schema = json.load(open(os.path.join(ROOT, "Schemas/config.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

passed = failed = 0


def check(name, doc, valid):
    global passed, failed
    errors = list(validator.iter_errors(doc))
    if (not errors) == valid:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: expected {'valid' if valid else 'invalid'}, errors: {[e.message for e in errors][:3]}")


def fragment_to_config(doc):
    """Plugin sample.yaml files are fragments of the config: either a whole config or one plugin entry."""
    if isinstance(doc, dict) and "type" in doc and "sources" not in doc:
        return {"sources": [doc]}
    if isinstance(doc, list):
        return {"sources": doc}
    return doc


for path in sorted(glob.glob(os.path.join(ROOT, "Sources/StethoscopeSources/Plugins/*/sample.yaml"))):
    check(os.path.relpath(path, ROOT), fragment_to_config(yaml.safe_load(open(path))), True)

# The demo's generated config, as the binary writes it.
binary = os.environ.get("STETHOSCOPE_BIN")
if binary and os.path.exists(binary):
    out = subprocess.run([binary, "demo", "--people", "40", "--nights", "1", "--out", os.path.join(ROOT, ".build/schema-demo")],
                         capture_output=True, text=True)
    if out.returncode != 0:
        failed += 1
        print("FAIL demo run:", out.stderr[-500:])
    else:
        check("demo.yaml", yaml.safe_load(open(os.path.join(ROOT, ".build/schema-demo/demo.yaml"))), True)

check("unknown root key", {"stale_afer_days": 3}, False)
check("bad status", {"practices": {"firewall": {"on_fail": "panic"}}}, False)
check("bad platform", {"practices": {"firewall": {"platforms": ["Amiga"]}}}, False)
check("source without name", {"sources": [{"type": "jamf"}]}, False)
check("export", {"export": {"elasticsearch": {"url": "https://es:9200", "api_key_file": "/k", "gzip": True}}}, True)
check("export typo", {"export": {"elasticsearch": {"url": "https://es:9200", "chunk_byts": 5}}}, False)
check("export index settings", {"export": {"elasticsearch": {"url": "https://es:9200", "number_of_shards": 2, "number_of_replicas": 0, "refresh_interval": "5s"}}}, True)
check("export refresh off", {"export": {"elasticsearch": {"url": "https://es:9200", "refresh_interval": -1}}}, True)
check("export bad refresh", {"export": {"elasticsearch": {"url": "https://es:9200", "refresh_interval": "soon"}}}, False)
check("export without url", {"export": {"elasticsearch": {"index": "x-{yyyy}"}}}, False)
check("no device source", {"sources": []}, False)
check("huge timeout", {"sources": [{"name": "j", "type": "jamf", "timeout_s": 1e308}]}, False)
check("drop share above 1", {"max_record_drop": 1.5}, False)
check("allow_empty and drop share", {"max_record_drop": 0.5, "sources": [{"name": "o", "type": "osquery", "allow_empty": True, "max_record_drop": 0.9}]}, True)
check("webhook", {"webhooks": [{"name": "chat", "url_file": "/etc/s/hook", "format": "slack", "token_file": "/t", "timeout_s": 10}]}, True)
check("webhook without url", {"webhooks": [{"name": "chat", "format": "json"}]}, False)
check("webhook bad format", {"webhooks": [{"url": "https://x", "format": "teams"}]}, False)
check("webhook typo", {"webhooks": [{"url": "https://x", "timeout": 5}]}, False)
check("notify smtp", {"notify": {"from": "it@example.com", "smtp": {"url": "smtp://mail:587", "username": "u", "password_file": "/p"},
                              "campaigns": [{"name": "fv", "subject": "FileVault", "platforms": ["Mac"]}]}}, True)
check("notify without delivery", {"notify": {"from": "it@example.com"}}, False)
check("notify typo", {"notify": {"from": "it@example.com", "dry_run": {"out": "x"}, "cadance": {}}}, False)
check("dated rules", {"practices": {"os_version": {"versions": {"Mac": [{"required": "14"}, {"from": "2026-11-01", "required": "15"}]}}}}, True)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
