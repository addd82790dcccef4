#!/bin/sh
# bench/produce_speed.sh - the summary line's rate (`done: ... (N evals/s)`)
# of two elites builds side by side, interleaved run by run so both see the
# same machine load: MAP-Elites and Iso+LineDD at n = 20, CMA-ME at n = 20
# and n = 100 (examples/sphere-*.json), with 1 and 2 workers and each rng.
# Prints one row per case: the median rate of each build over the
# repetitions and the ratio. Made for issue 13's produce-in-the-workers
# change (BEFORE = a build of main, AFTER = this branch).
#
# usage: bench/produce_speed.sh BEFORE_ELITES AFTER_ELITES [REPS]
#   (from the top folder; default 3 repetitions; ITER_SCALE=k multiplies
#   every run's iterations)
set -eu
before=$1
after=$2
reps=${3:-3}
scale=${ITER_SCALE:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rate() { # rate ELITES CONFIG ITERATIONS WORKERS RNG DIM
    "$1" run "$2" -o "$tmp/out" --iterations "$3" --set workers="$4" --set rng="$5" \
        --set evaluator.dim="$6" | sed -n 's/^done: .*(\([0-9]*\) evals\/s).*/\1/p'
    rm -rf "$tmp/out"
}

median() { # the middle of the numbers on stdin
    sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

printf '| case | n | workers | rng | before evals/s | after evals/s | after / before |\n'
printf '|---|---|---|---|---|---|---|\n'
for c in "map-elites examples/sphere-map-elites.json 20 1000" \
         "iso+line examples/sphere-line-map-elites.json 20 1000" \
         "cma-me examples/sphere-cma-me.json 20 1000" \
         "cma-me examples/sphere-cma-me.json 100 100"; do
    set -- $c
    name=$1 config=$2 dim=$3 iterations=$(($4 * scale))
    for rng in mt19937 xoshiro256++; do
        for workers in 1 2; do
            : >"$tmp/b"
            : >"$tmp/a"
            r=0
            while [ "$r" -lt "$reps" ]; do
                rate "$before" "$config" "$iterations" "$workers" "$rng" "$dim" >>"$tmp/b"
                rate "$after" "$config" "$iterations" "$workers" "$rng" "$dim" >>"$tmp/a"
                r=$((r + 1))
            done
            b=$(median <"$tmp/b")
            a=$(median <"$tmp/a")
            awk -v n="$name" -v d="$dim" -v w="$workers" -v g="$rng" -v a="$a" -v b="$b" \
                'BEGIN { printf "| %s | %s | %s | %s | %d | %d | %.2fx |\n", n, d, w, g, b, a, (b > 0 ? a / b : 0) }'
        done
    done
done
