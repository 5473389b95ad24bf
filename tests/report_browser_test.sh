#!/usr/bin/env bash
# The HTML report as a user sees it: a smoke sweep of every kernel, index.html rendered by headless
# Chromium (Debian's `chromium`, which tools/dev.sh installs), a screenshot that must exist and
# hold a real page, and the rendered DOM's visible text checked for the overview table with every
# kernel `kcs list` knows. Skips (ctest SKIP) only when no chromium is installed.
# Usage: report_browser_test.sh <kcs binary> <out dir: keeps report/, report.png, dom.html>
set -uo pipefail
KCS="$1"
OUT="$2"
PY=/usr/bin/python3
CHROME="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$CHROME" ]; then
  echo "KCS_SKIP: chromium is not installed (tools/dev.sh deps installs Debian's chromium); not rendered"
  exit 0
fi
rm -rf "$OUT"
mkdir -p "$OUT"

rc=0
"$KCS" run --tier smoke -q --out "$OUT/report" >"$OUT/run.log" 2>&1 || rc=$?
# A failing check still writes the report (exit 1); anything else is a broken run.
if [ "$rc" -gt 1 ] || [ ! -s "$OUT/report/index.html" ]; then
  cat "$OUT/run.log"
  echo "FAIL kcs run --out wrote no report (exit $rc)"
  exit 1
fi
"$KCS" list >"$OUT/list.txt"

# A fresh profile per start; no network, no first-run UI, no background services.
chrome() {
  local profile
  profile="$(mktemp -d)"
  timeout 180 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage --hide-scrollbars \
    --user-data-dir="$profile" "$@"
  local r=$?
  rm -rf "$profile"
  return $r
}
URL="file://$(cd "$OUT/report" && pwd)/index.html"
chrome --screenshot="$OUT/report.png" --window-size=1280,2000 "$URL" >"$OUT/chrome_shot.log" 2>&1 ||
  { cat "$OUT/chrome_shot.log"; echo "FAIL chromium --screenshot failed"; exit 1; }
chrome --dump-dom "$URL" >"$OUT/dom.html" 2>"$OUT/chrome_dom.log" ||
  { cat "$OUT/chrome_dom.log"; echo "FAIL chromium --dump-dom failed"; exit 1; }

$PY - "$OUT" <<'PY'
import os, re, struct, sys, zlib
from html.parser import HTMLParser

out = sys.argv[1]
fails = []

# The screenshot: a valid 1280x2000 PNG that is not a blank page (a blank one compresses to a few KB).
png = open(os.path.join(out, "report.png"), "rb").read()
if png[:8] != b"\x89PNG\r\n\x1a\n":
    fails.append("report.png is not a PNG")
else:
    w, h = struct.unpack(">II", png[16:24])
    idat, pos = b"", 8
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            idat += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    bpp = {2: 3, 6: 4}.get(png[25], 0)
    if (w, h) != (1280, 2000):
        fails.append("screenshot is %dx%d, wanted 1280x2000" % (w, h))
    if bpp and len(raw) != h * (1 + w * bpp):
        fails.append("screenshot pixel data has the wrong size")
    if len(png) < 40000:
        fails.append("screenshot is only %d bytes: a blank page?" % len(png))
    print("screenshot %dx%d, %d bytes" % (w, h, len(png)))

# The rendered DOM: visible text per element, tables by id.
class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.text, self.tables, self.cur_table = [], [], {}, None
        self.row, self.cell, self.svgs, self.scripts = None, None, 0, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.cur_table = a.get("id", "")
            self.tables.setdefault(self.cur_table, [])
        elif tag == "tr" and self.cur_table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
        elif tag == "svg":
            self.svgs += 1
        elif tag == "script":
            self.scripts += 1
        self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.cur_table].append(self.row)
            self.row = None
        elif tag == "table":
            self.cur_table = None
        while self.stack and self.stack.pop() != tag:
            pass
    def handle_data(self, data):
        if "style" in self.stack or "title" in self.stack:
            return
        self.text.append(data)
        if self.cell is not None:
            self.cell += data

page = Page()
page.feed(open(os.path.join(out, "dom.html"), encoding="utf-8").read())
text = " ".join(page.text)
for words in ("kcs accuracy report", "Overview", "worst margin", "Machine and versions", "ISA variants"):
    if words not in text:
        fails.append("visible text lacks %r" % words)
overview = page.tables.get("overview-table", [])
if len(overview) < 2:
    fails.append("no overview table rows in the rendered page")
else:
    header = overview[0]
    for col in ("kernel", "backend", "runs", "passed", "failed", "skipped", "worst margin"):
        if col not in header:
            fails.append("overview table lacks the column %r (has %s)" % (col, header))
shown = {r[0] for r in overview[1:] if r}

# Every kernel with smoke cases, as `kcs list` names them.
kernels, in_kernels = [], False
for line in open(os.path.join(out, "list.txt")):
    if line.startswith("kernels:"):
        in_kernels = True
        continue
    m = re.match(r"^  (\S+) ", line)
    if in_kernels and m:
        kernels.append(m.group(1))
    m = re.match(r"^    cases: (\d+) smoke", line)
    if in_kernels and m and int(m.group(1)) == 0:
        kernels.pop()
if not kernels:
    fails.append("kcs list named no kernel")
missing = [k for k in kernels if k not in shown]
if missing:
    fails.append("overview table lacks kernels %s (shows %s)" % (missing, sorted(shown)))
if page.svgs < 1:
    fails.append("no SVG histogram in the rendered page")
if page.scripts:
    fails.append("the page holds %d scripts" % page.scripts)
print("overview shows %d kernels: %s; %d SVG charts" % (len(shown), " ".join(sorted(shown)), page.svgs))
for f in fails:
    print("FAIL " + f)
sys.exit(1 if fails else 0)
PY
r=$?
[ "$r" -eq 0 ] && echo "report renders in $("$CHROME" --version 2>/dev/null | head -1); screenshot $OUT/report.png"
exit "$r"
