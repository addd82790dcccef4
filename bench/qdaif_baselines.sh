#!/bin/sh
# qdaif_baselines.sh - QD score / coverage per method and seed for the QDAIF
# paper's comparison (examples/qdaif-baselines/run.sh: QDAIF, fixed and
# shuffling few-shot, random search, LMX quality-only, NSAIF) on the
# opinions domain, offline, against the project's test server with
# {"follow": true} (its children resemble their few-shot examples). The
# table shows the machinery and the methods' ordering on a fixed rule, NOT
# a real model's numbers: run examples/qdaif-baselines/run.sh against your
# server for those.
#
# usage: bench/qdaif_baselines.sh [OUTDIR] [SEED...]   (from the build folder)
set -eu
out=${1:-bench-qdaif-baselines}
[ $# -gt 0 ] && shift
seeds=${*:-1 2 3}
src=$(dirname "$0")/..
log=$(mktemp)
python3 "$src/tests/llm_server.py" > "$log" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT INT TERM
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/^PORT //p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "qdaif_baselines.sh: the test server did not start" >&2; exit 1; }
curl -s --noproxy '*' -d '{"follow": true}' "http://127.0.0.1:$port/control" > /dev/null
echo "test server (fixed rules, no model; children follow their examples), opinions domain, 2,000 jobs per run"
# shellcheck disable=SC2086
ELITES_LLM_URL="http://127.0.0.1:$port/v1" ELITES_LLM_MODEL=test-openai \
    "$src/examples/qdaif-baselines/run.sh" "$out" $seeds
