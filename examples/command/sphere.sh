#!/bin/sh
# sphere.sh - a program for the elites "command" evaluator in plain shell + awk.
# Reads a request line {"id": ..., "seed": ..., "x": [...]} on stdin and prints
# {"id": ..., "objective": ..., "measures": [..., ...]}: the shifted sphere of pyribs'
# examples/sphere.py with the clipped-halves measures. One reply per request line,
# flushed, so it also serves "persistent" mode (mawk, Debian's awk, reads its input in
# blocks unless told -W interactive, and would sit on a request).
case "$(awk -W version 2>&1)" in *mawk*) set -- -W interactive ;; *) set -- ;; esac
exec awk "$@" '
NF {
    id = $0; sub(/.*"id": */, "", id); sub(/[^0-9].*/, "", id)
    s = $0; sub(/.*"x": *\[/, "", s); sub(/\].*/, "", s)
    n = split(s, x, ",")
    bound = 5.12; shift = 0.4 * bound; raw = 0; m1 = 0; m2 = 0
    for (i = 1; i <= n; i++) {
        v = x[i] + 0
        raw += (v - shift) ^ 2
        c = (v < -bound || v > bound) ? bound / v : v
        if (i <= int(n / 2)) m1 += c; else m2 += c
    }
    worst = (-bound - shift) ^ 2 * n
    printf "{\"id\": %s, \"objective\": %.17g, \"measures\": [%.17g, %.17g]}\n", id, (raw - worst) / (0 - worst) * 100, m1, m2
    fflush()
}'
