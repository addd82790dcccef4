#!/bin/sh
# bench/qdhf_table.sh - the QDHF paper's robotic-arm table (Ding et al. 2024,
# table 1; the authors' arm code's setting): 10 joints, 1,000 iterations of
# MAP-Elites, 50x50 grid, QD score = sum of objectives / 2,500 in the
# ground-truth end-effector grid (50x50 over [-10, 10]^2), for
#   QD-GT         examples/arm.json (MAP-Elites on the true measures)
#   QDHF-online   examples/arm-qdhf-online.json (the paper's setting)
#   QDHF-offline  examples/arm-qdhf.json
#   PCA-online    arm-qdhf-online.json with evaluator.projection = "pca"
#   PCA-offline   arm-qdhf.json with evaluator.projection = "pca"
#   AE-online     arm-qdhf-online.json with evaluator.projection = "autoencoder"
#   AE-offline    arm-qdhf.json with evaluator.projection = "autoencoder"
# over SEEDS seeds (--seed reaches the judge, the triplet draws and the
# training), both of the paper's metrics: "archive" (the final archive's
# elites re-binned in the true grid) and "all" (every evaluated solution
# binned there), with coverage; mean ± sample standard deviation.
#
# usage: bench/qdhf_table.sh [SEEDS [EXTRA --set ARGS...]]  (from the top
# folder, after a build; default 5 seeds; about 2-3 s per run on one core)
set -eu
seeds=${1:-5}
[ $# -gt 0 ] && shift
elites=${ELITES:-./elites}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # name config [--set ...]
    name=$1
    config=$2
    shift 2
    seed=1
    while [ "$seed" -le "$seeds" ]; do
        "$elites" run "$config" -q --seed "$seed" --set workers=1 "$@" -o "$tmp/$name-$seed" >/dev/null 2>&1
        seed=$((seed + 1))
    done
}

run qd-gt examples/arm.json "$@"
run qdhf-online examples/arm-qdhf-online.json "$@"
run qdhf-offline examples/arm-qdhf.json "$@"
run pca-online examples/arm-qdhf-online.json --set evaluator.projection=pca "$@"
run pca-offline examples/arm-qdhf.json --set evaluator.projection=pca "$@"
run ae-online examples/arm-qdhf-online.json --set evaluator.projection=autoencoder "$@"
run ae-offline examples/arm-qdhf.json --set evaluator.projection=autoencoder "$@"

python3 - "$tmp" "$seeds" <<'PY'
import json, statistics, sys
tmp, seeds = sys.argv[1], int(sys.argv[2])
def ms(v):
    return "%.1f ± %.1f" % (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
print("| method | QD score (archive) | coverage % (archive) | QD score (all) | coverage % (all) |")
print("|---|---|---|---|---|")
for name in ["qd-gt", "qdhf-online", "qdhf-offline", "pca-online", "pca-offline", "ae-online",
             "ae-offline"]:
    rows = [json.load(open("%s/%s-%d/archive.json" % (tmp, name, s)))["ground_truth"] for s in range(1, seeds + 1)]
    print("| %s | %s | %s | %s | %s |" % (name, ms([r["archive_qd_score"] for r in rows]),
          ms([100 * r["archive_coverage"] for r in rows]), ms([r["all_qd_score"] for r in rows]),
          ms([100 * r["all_coverage"] for r in rows])))
PY
