#!/usr/bin/env python3
"""cube.py - a three-measure evaluator for the browser test (the command
evaluator's persistent protocol, standard library only): the shifted sphere
of x as objective and the first three coordinates, squashed into [0, 1], as
measures, so the report shows facets and parallel axes."""
import json
import math
import sys

for line in sys.stdin:
    if not line.strip():
        continue
    r = json.loads(line)
    x = r["x"]
    obj = 100.0 - sum((v - 1.0) ** 2 for v in x)
    m = [0.5 + math.atan(v) / math.pi for v in x[:3]]
    sys.stdout.write(json.dumps({"id": r["id"], "objective": obj, "measures": m}) + "\n")
    sys.stdout.flush()
