#!/usr/bin/env bash
# tests/browser/run.sh ELITES [OUTDIR] - the browser test of report.html: runs
# elites on a small grid (SVG map), the Quick-start grid (canvas map), a CVT
# archive both ways, the QDAIF poems and stories domains against the
# project's test LLM server, a 3-D grid both ways, and a canvas map with long
# category names on its y axis; checks every heatmap.svg with a real XML
# parser; then tests/browser/report.mjs opens each report.html in headless
# Chromium (Playwright), hovers and clicks a cell, sorts and pages the table,
# and saves screenshots into OUTDIR. Needs Debian's chromium and
# playwright-core in tests/browser/node_modules (`npm install --prefix
# tests/browser`; .ci/run does both). Prints "browser: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
elites=$(realpath "$1")
out=$(realpath -m "${2:-_browser}")
rm -rf "$out" && mkdir -p "$out"
runs=()
run() { # run NAME ARGS...: one elites run into $out/NAME
    local name=$1; shift
    if "$elites" run "$@" -q -o "$out/$name" >"$out/$name.log" 2>&1; then
        runs+=("$name")
    else
        echo "browser: elites run $name failed:"; cat "$out/$name.log"
        fails=$((fails + 1))
    fi
}
fails=0
run grid-svg examples/sphere.json --iterations 6 --set 'archive.dims[0].bins=20' --set 'archive.dims[1].bins=20'
run grid-canvas examples/sphere.json --iterations 6
run cvt-svg examples/sphere-cvt-map-elites.json --iterations 6 --set archive.cells=400 --set archive.samples=20000
run cvt-canvas examples/sphere-cvt-map-elites.json --iterations 6 --set archive.cells=6000 --set archive.samples=30000
run cube-svg tests/browser/cube.json
run cube-canvas tests/browser/cube.json --set 'archive.dims[0].bins=40' --set 'archive.dims[1].bins=40' --iterations 20
# long category names on a canvas map's y axis (an export of grid-canvas's
# archive relabelled by tests/browser/labelled.py)
if [ -f "$out/grid-canvas/archive.json" ] && mkdir -p "$out/labels-canvas" &&
    python3 tests/browser/labelled.py "$out/grid-canvas/archive.json" "$out/labels-canvas/archive.json" &&
    "$elites" export "$out/labels-canvas/archive.json" --html "$out/labels-canvas/report.html" \
        --svg "$out/labels-canvas/heatmap.svg" >"$out/labels-canvas.log" 2>&1; then
    runs+=(labels-canvas)
else
    echo "browser: the labels-canvas export failed:"; cat "$out/labels-canvas.log" 2>/dev/null
    fails=$((fails + 1))
fi
# QDAIF poems (categorical axes) and stories (probability axes with end
# names) against the test server (it prints "PORT n" first)
coproc SRV { exec python3 tests/llm_server.py; }
read -r -t 20 line <&"${SRV[0]}"
port=${line#PORT }
ELITES_LLM_URL="http://127.0.0.1:$port/v1" ELITES_LLM_MODEL=test-openai \
    run qdaif-poems examples/qdaif-poems.json --iterations 12
ELITES_LLM_URL="http://127.0.0.1:$port/v1" ELITES_LLM_MODEL=test-openai \
    run qdaif-stories examples/qdaif-stories.json --iterations 12
kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null
# every SVG through a real XML parser
for r in "${runs[@]}"; do
    if python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$out/$r/heatmap.svg"; then
        echo "ok: $r/heatmap.svg parses as XML"
        svgok=$((${svgok:-0} + 1))
    else
        echo "FAIL: $r/heatmap.svg is not well-formed XML"
        fails=$((fails + 1))
    fi
done
dirs=()
for r in "${runs[@]}"; do dirs+=("$out/$r"); done
node tests/browser/report.mjs "$out" "${dirs[@]}" | tee "$out/report.log"
p=$(sed -n 's/^browser pages: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out/report.log")
f=$(sed -n 's/^browser pages: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out/report.log")
[ -n "$p" ] || { p=0; f=1; }
echo "browser: $((p + ${svgok:-0})) passed, $((f + fails)) failed"
[ $((f + fails)) -eq 0 ]
