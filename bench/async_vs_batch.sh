#!/bin/sh
# bench/async_vs_batch.sh - batch vs async mode when evaluation times vary,
# as LLM calls and training runs do. The evaluator is the "command"
# evaluator with a long-lived Python program (standard library) that sleeps
# 5 ms for nine candidates in ten and 100 ms for the tenth (a straggler,
# drawn from the candidate's seed), then scores the sphere. Batch mode waits
# for each iteration's slowest job; async mode asks a new job as soon as one
# lands. Prints evaluations/s of each and the ratio.
#
# usage: bench/async_vs_batch.sh [WORKERS [ITERATIONS]]   (from the top folder,
# after a build; default 16 workers, 20 iterations of 64 jobs)
set -eu
workers=${1:-16}
iterations=${2:-20}
elites=${ELITES:-./elites}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/slow.py" <<'PY'
import json, random, sys, time
for line in sys.stdin:
    req = json.loads(line)
    rng = random.Random(req["seed"])
    time.sleep(0.1 if rng.random() < 0.1 else 0.005)
    x = req["x"]
    obj = 100.0 - sum((v - 2.048) ** 2 for v in x)
    half = len(x) // 2
    sys.stdout.write(json.dumps({"id": req["id"], "objective": obj,
                                 "measures": [sum(x[:half]), sum(x[half:])]}) + "\n")
    sys.stdout.flush()
PY
cat >"$tmp/run.json" <<JSON
{"seed": 1, "iterations": $iterations, "workers": $workers,
 "evaluator": {"type": "command", "command": "python3 $tmp/slow.py", "mode": "persistent",
               "timeout": 10, "dim": 6, "lower": -5.12, "upper": 5.12,
               "measures": 2, "measure_lower": -15.36, "measure_upper": 15.36, "objective_min": -300, "objective_max": 100},
 "archive": {"dims": [{"bins": 20}, {"bins": 20}]},
 "mutators": [{"type": "gaussian", "sigma": 0.5, "batch": 64}],
 "output": {"save_every": 0}}
JSON
rate() { # rate MODE: evaluations/s of one run
    "$elites" run "$tmp/run.json" -o "$tmp/$1" --set mode="$1" | sed -n 's/^done: .* evaluations, .* failed, in .* s (\([0-9]*\) evals\/s).*/\1/p'
}
b=$(rate batch)
a=$(rate async)
echo "workers $workers, $iterations iterations of 64 jobs, 5 ms jobs with 10% 100 ms stragglers"
echo "batch: $b evals/s"
echo "async: $a evals/s (inflight = 2 x workers)"
awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "async / batch: %.2fx\n", a / b }'
ideal=$(awk -v w="$workers" 'BEGIN { printf "%.0f", w / (0.9 * 0.005 + 0.1 * 0.1) }')
echo "ideal (workers / mean latency 14.5 ms): $ideal evals/s"
