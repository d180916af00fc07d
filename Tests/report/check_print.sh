#!/usr/bin/env bash
# Checks the report on paper (issue #17, "Paper and machines"): prints one page of each kind to PDF with headless
# Chromium (A4/Letter landscape from the print CSS), then checks
#   1. the page count is sane (at least one page, at most MAX_PAGES for the small demo);
#   2. every column header of every table on the page appears in the PDF's text (nothing clipped off the right
#      edge), using pdftotext from poppler-utils.
set -euo pipefail

BIN=${STETHOSCOPE_BIN:-.build/debug/stethoscope}
CHROMIUM=${CHROMIUM:-chromium}
PYTHON=${PYTHON:-python3}
MAX_PAGES=${MAX_PAGES:-40}
command -v pdftotext >/dev/null || { echo "check_print: pdftotext (poppler-utils) is not installed"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BIN" demo --people 150 --nights 12 --out "$WORK/demo" >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log"; exit 1; }
REPORT="$WORK/demo/report"
first() { (cd "$1" && ls $2 2>/dev/null | head -1); }
pages=(index.html organizations.html managers.html practices.html quality.html "$(first "$REPORT" 'org-*.html')"
       "$(first "$REPORT" 'manager-*.html')" "$(first "$REPORT" 'practice-*.html')")

failed=0
for page in "${pages[@]}"; do
    pdf="$WORK/${page%.html}.pdf"
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --no-pdf-header-footer \
        --print-to-pdf="$pdf" "file://$REPORT/$page" >/dev/null 2>&1 || { echo "check_print: chromium failed on $page"; failed=1; continue; }
    count=$(grep -a -c '/Type /Page$\|/Type /Page\b[^s]' "$pdf" || true)
    [ "$count" -ge 1 ] && [ "$count" -le "$MAX_PAGES" ] || { echo "check_print: $page printed on $count pages"; failed=1; }
    # -raw: in drawing order, so a header wrapped at a hyphen ("Up-to-" / "date OS") keeps its hyphen and its lines
    # stay together (the default mode joins such lines as "Up-todate").
    pdftotext -raw "$pdf" "$WORK/text.txt"
    # Every word of every column header of the page's tables (the chart-data tables that a disclosure folds away on
    # screen included) must appear in the whitespace-free text.
    "$PYTHON" - "$REPORT/$page" "$WORK/text.txt" <<'PY' || failed=1
import html, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
text = re.sub(r"\s+", "", open(sys.argv[2], encoding="utf-8", errors="replace").read())
missing = []
for head in re.findall(r"<thead>(.*?)</thead>", page, re.S):
    for th in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S):
        # Word by word: a header that wraps onto several lines sits beside its neighbours' lines in the text.
        label = html.unescape(re.sub(r"<[^>]+>", "", th)).split()
        if any(word not in text for word in label):
            missing.append(" ".join(label))
if missing:
    print(f"check_print: {sys.argv[1].rsplit('/', 1)[-1]}: column headers missing on paper: {sorted(set(missing))[:10]}")
    sys.exit(1)
PY
    echo "check_print: $page: $count page(s)"
done
exit "$failed"
