"""Starts noida-db (PyPI `noida-db==0.2.3`) with only its Elasticsearch 8 persona, for tests (Python stdlib).

    noida_es.py

noida-db binds 127.0.0.1 on a free port (`--elasticsearch-port 0`) and keeps its data in a temporary folder.
Prints the base URL (`http://127.0.0.1:PORT`) as its first stdout line. noida-db itself does not watch its
stdin, and children of the Swift test runner inherit blocked signals: so this guard waits for its own stdin
to close (the test released the server, or the runner died), then SIGKILLs noida-db and removes its data.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import noida_db


def main():
    binary = os.path.join(os.path.dirname(noida_db.__file__), "noida-db")
    os.chmod(binary, 0o755)
    data = tempfile.mkdtemp(prefix="noida-es-")
    errors = tempfile.TemporaryFile()
    child = subprocess.Popen(
        [binary, "start", "--only", "elasticsearch", "--host", "127.0.0.1", "--elasticsearch-port", "0", "--data-dir", data],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
    try:
        url = None
        for raw in child.stdout:
            # "  elasticsearch  http://127.0.0.1:PORT"
            found = re.search(r"elasticsearch\s+(http://127\.0\.0\.1:\d+)", raw.decode("utf-8", "replace"))
            if found:
                url = found.group(1)
                break
        if url is None:
            errors.seek(0)
            sys.stdout.write("noida-db did not start: " + errors.read().decode("utf-8", "replace").replace("\n", " ")[:500] + "\n")
            sys.stdout.flush()
            return 1
        sys.stdout.write(url + "\n")
        sys.stdout.flush()
        sys.stdin.read()   # until the test closes our stdin
        return 0
    finally:
        try:
            child.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
