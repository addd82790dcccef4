#!/usr/bin/env bash
# report_big.sh [OUTDIR] - size, write time and browser load time of big
# reports: bench/bench_report writes 10k- and 100k-elite reports (grid and
# CVT), bench/report_load.mjs opens each in headless Chromium (needs
# playwright-core in tests/browser/node_modules: npm install --prefix
# tests/browser) and prints when the map is on screen; a bare page holding
# a data block of the same size gives the browser's own floor for parsing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-_bench/report}
mkdir -p "$out"
bench/bench_report "$out"
python3 - "$out" <<'PY'
import os, sys
out = sys.argv[1]
n = os.path.getsize(os.path.join(out, "grid100k.html"))
with open(os.path.join(out, "bare100k.html"), "w") as f:
    f.write('<!DOCTYPE html><html><body><script type="application/json" id="data">"' + "A" * n +
            '"</script><script>JSON.parse(document.getElementById("data").textContent);'
            'window.__report = {ready: true, t: performance.now()};</script></body></html>')
PY
node bench/report_load.mjs "$out"/grid10k.html "$out"/grid100k.html "$out"/cvt100k.html "$out"/bare100k.html
