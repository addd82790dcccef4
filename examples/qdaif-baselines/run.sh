#!/bin/sh
# run.sh - the QDAIF paper's comparison (Bradley et al. 2023) on the
# opinions domain: QDAIF (LMX-near) and its baselines, each a mode of the
# llm mutator over examples/qdaif-opinions.json, under one budget (that
# config's 2,000 jobs unless --iterations says otherwise), for each seed;
# then the QD score / coverage table (table.sh).
#
# usage: examples/qdaif-baselines/run.sh OUTDIR [SEED...] [-- ELITES-RUN-OPTIONS...]
#   e.g. ELITES_LLM_URL=http://127.0.0.1:8080/v1 ELITES_LLM_MODEL=local \
#        examples/qdaif-baselines/run.sh baselines 1 2 3 -- --set workers=4
# ELITES names the elites binary (default ./elites); CONFIG the base config.
set -eu
here=$(dirname "$0")
out=${1:?usage: run.sh OUTDIR [SEED...] [-- ELITES-RUN-OPTIONS...]}
shift
seeds=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do seeds="$seeds $1"; shift; done
[ $# -gt 0 ] && shift
[ -n "$seeds" ] || seeds="1 2 3 4 5"
elites=${ELITES:-./elites}
config=${CONFIG:-$here/../qdaif-opinions.json}
mkdir -p "$out"

# method name, then the --set overrides that make it (see README.md)
methods() {
    cat <<'LIST'
qdaif mutators[0].mode=lmx-near
fixed-few-shot mutators[0].mode=fixed
shuffling-few-shot mutators[0].mode=shuffle
random-search mutators[0].mode=zero-shot
lmx-quality-only mutators[0].mode=lmx-quality mutators[0].population=10
nsaif mutators[0].mode=nsaif mutators[0].novelty_k=15 mutators[0].novelty_threshold=0.02
LIST
}

methods | while read -r name sets; do
    for seed in $seeds; do
        dir="$out/$name-seed$seed"
        args=""
        for s in $sets; do args="$args --set $s"; done
        # shellcheck disable=SC2086
        "$elites" run "$config" -o "$dir" --seed "$seed" $args "$@" > "$dir.txt" 2>&1 </dev/null ||
            echo "run.sh: $name seed $seed failed (see $dir.txt)" >&2
    done
done
"$here/table.sh" "$out"
