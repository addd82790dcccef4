#!/bin/sh
# table.sh - the QD score / coverage table of a run.sh folder: one row per
# method and seed (from each run's summary line "archive: F of C cells
# filled (coverage X%), QD score Q ..."), then each method's mean.
# usage: examples/qdaif-baselines/table.sh OUTDIR
set -eu
out=${1:?usage: table.sh OUTDIR}
printf '%-20s %6s %10s %10s %8s\n' method seed "QD score" coverage filled
for f in "$out"/*-seed*.txt; do
    [ -f "$f" ] || continue
    base=$(basename "$f" .txt)
    name=${base%-seed*}
    seed=${base##*-seed}
    line=$(grep '^archive: ' "$f" || true)
    if [ -z "$line" ]; then
        printf '%-20s %6s %10s %10s %8s\n' "$name" "$seed" failed - -
        continue
    fi
    echo "$line" | sed -E 's/^archive: ([0-9]+) of ([0-9]+) cells filled \(coverage ([0-9.]+)%\), QD score ([-0-9.e+]+).*/\1 \2 \3 \4/' |
        { read -r filled cells cov qd; printf '%-20s %6s %10.4f %9.2f%% %4s/%s\n' "$name" "$seed" "$qd" "$cov" "$filled" "$cells"; }
done | sort -k1,1 -k2,2n | tee "$out/table.rows" | cat
echo
printf '%-20s %6s %10s %10s\n' method seeds "mean QD" "mean cov"
awk '$3 != "failed" { n[$1]++; qd[$1] += $3; cov[$1] += $4 }
     END { for (m in n) printf "%-20s %6d %10.4f %9.2f%%\n", m, n[m], qd[m] / n[m], cov[m] / n[m] }' "$out/table.rows" |
    sort -k3,3nr
rm -f "$out/table.rows"
