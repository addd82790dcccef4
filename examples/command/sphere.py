#!/usr/bin/env python3
"""sphere.py - a program for the elites "command" evaluator (standard library only).

Reads one JSON request per line on stdin, {"id": ..., "seed": ..., "x": [...]}, and
answers each with one JSON line on stdout: the shifted sphere of pyribs'
examples/sphere.py (objective 100 at the optimum, 0 at x_i = -5.12) and the
clipped-halves measures. It serves both modes: in "fork" mode it gets one line and
then EOF, in "persistent" mode it keeps answering until elites closes its stdin.
Log to stderr, never to stdout; flush after every reply.
"""
import json
import sys

BOUND = 5.12
SHIFT = 0.4 * BOUND


def score(x):
    raw = sum((v - SHIFT) ** 2 for v in x)
    worst = (-BOUND - SHIFT) ** 2 * len(x)
    objective = (raw - worst) / (0.0 - worst) * 100.0
    clipped = [v if -BOUND <= v <= BOUND else BOUND / v for v in x]
    half = len(x) // 2
    return objective, [sum(clipped[:half]), sum(clipped[half:])]


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        objective, measures = score(request["x"])
        reply = {"id": request["id"], "objective": objective, "measures": measures,
                 "meta": {"seed": request["seed"]}}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
