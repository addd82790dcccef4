#!/bin/sh
# bench/llmatic_search.sh - architecture search on the 8x8 digits: the
# grammar mutator (LLMatic's no-LLM baseline) against random search with the
# same budget, over several seeds. Each run is examples/llmatic-digits.json
# with BATCH x ITERATIONS networks and EPOCHS training epochs per network;
# prints per run the best held-out accuracy, the QD score and coverage of
# the network archive, failed networks, wall time per network, and the best
# network's text, then the means per mutator.
#
# usage: bench/llmatic_search.sh [EPOCHS [ITERATIONS [BATCH [SEEDS]]]]
#   (from the top folder, after a build; default 3 epochs, 50 iterations of
#   10 networks = 500 networks, seeds "1 2 3"). CPU-heavy: run it niced.
#   KEEP=DIR keeps the runs' output folders (and runs.txt) in DIR;
#   REPORT_ONLY=1 with KEEP=DIR prints the table of the runs DIR holds.
set -eu
epochs=${1:-3}
iterations=${2:-50}
batch=${3:-10}
seeds=${4:-1 2 3}
elites=${ELITES:-./elites}
if [ -n "${KEEP:-}" ]; then # KEEP=DIR keeps each run's output folder there
    tmp=$KEEP
    mkdir -p "$tmp"
    [ -n "${REPORT_ONLY:-}" ] && seeds="" || : >"$tmp/runs.txt"
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
fi
[ -n "$seeds" ] && echo "# $((iterations * batch)) networks per run, $epochs epochs each, workers 2, seeds $seeds"
for seed in $seeds; do # seed by seed, so a run cut short still pairs the two
    for mode in grammar random; do
        out="$tmp/$mode-$seed"
        t0=$(date +%s.%N)
        "$elites" run examples/llmatic-digits.json -q -o "$out" --seed "$seed" --iterations "$iterations" \
            --set "mutators[0].mode=$mode" --set "mutators[0].batch=$batch" --set "evaluator.epochs=$epochs" \
            >/dev/null
        t1=$(date +%s.%N)
        echo "$mode $seed $t0 $t1 $out" >>"$tmp/runs.txt"
    done
done
python3 - "$tmp/runs.txt" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    mode, seed, t0, t1, out = line.split()
    a = json.load(open(out + "/archive.json"))
    counts, stats = a["counts"], a["stats"]
    elites = a["elites"]
    best = max(elites, key=lambda e: e["objective"])
    n = counts["asked"]
    rows.append((mode, int(seed), best["objective"], stats["qd_score"], stats["coverage"], counts["failed"], n,
                 (float(t1) - float(t0)) / n, best["text"]))
print("| mutator | seed | best acc % | QD score | coverage | failed | networks | s / network (wall, 2 workers) |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %d | %.2f | %.1f | %.1f%% | %d | %d | %.3f |" % (r[0], r[1], r[2], r[3], 100 * r[4], r[5], r[6], r[7]))
print()
for mode in ("grammar", "random"):
    rs = [r for r in rows if r[0] == mode]
    k = len(rs)
    print("mean %s: best %.2f%%, QD score %.1f, coverage %.1f%%, failed %.1f, %.3f s / network" % (
        mode, sum(r[2] for r in rs) / k, sum(r[3] for r in rs) / k, 100 * sum(r[4] for r in rs) / k,
        sum(r[5] for r in rs) / k, sum(r[7] for r in rs) / k))
print()
for r in rows:
    print("best network, %s seed %d (%.2f%%): %s" % (r[0], r[1], r[2], " / ".join(r[8].strip().split("\n"))))
PY
