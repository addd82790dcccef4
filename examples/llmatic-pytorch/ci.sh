#!/bin/sh
# examples/llmatic-pytorch/ci.sh - a short run of the PyTorch example with
# the project's test server (tests/llm_server.py) standing in for the LLM:
# 3 iterations of 4 modules, 1 epoch each. Run from the top folder after a
# build; needs python3 with torch (Debian: python3-torch, /usr/bin/python3).
# Exits non-zero unless the run ends with elites in its archive and a
# prompt archive beside it.
set -eu
py=${PYTHON:-/usr/bin/python3}
out=${1:-_ci/llmatic-pytorch}
tmp=$(mktemp -d)
"$py" -c "import torch" || { echo "ci.sh: $py cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
mkfifo "$tmp/hold"
python3 tests/llm_server.py --watch-stdin <"$tmp/hold" >"$tmp/port" &
server=$!
exec 3>"$tmp/hold" # the server ends when this closes
trap 'exec 3>&-; kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q PORT "$tmp/port" && break; sleep 0.1; done
port=$(sed -n 's/^PORT //p' "$tmp/port")
./elites run examples/llmatic-pytorch/llmatic-pytorch.json -q -o "$out" --iterations 3 \
    --set "llm.url=http://127.0.0.1:$port/v1" --set llm.model=test-openai \
    --set "evaluator.command=$py examples/llmatic-pytorch/train.py --epochs 1"
"$py" - "$out" <<'PY'
import json, sys
a = json.load(open(sys.argv[1] + "/archive.json"))
p = json.load(open(sys.argv[1] + "/prompts.json"))["prompts"]
n = len(a["elites"])
print("llmatic-pytorch: %d elites, best %.2f%%, %d evaluated, %d failed, prompt uses %d" % (
    n, max(e["objective"] for e in a["elites"]) if n else 0, a["counts"]["evaluated"], a["counts"]["failed"],
    sum(x["uses"] for x in p)))
sys.exit(0 if n >= 2 and sum(x["uses"] for x in p) > 0 else 1)
PY
