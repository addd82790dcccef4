# labelled.py IN OUT - the browser test's archive with long category names on
# its y axis: a copy of a 2-D grid archive.json (the Quick-start sphere) on a
# 200 x 25 grid (5,000 cells: report.html draws it on a canvas) whose second
# measure becomes the index of one of 25 categories "a very long category
# NN" (elites export reads the names from the archive's measure_labels).
# The best elite of each new cell is kept.
import json
import sys

d = json.load(open(sys.argv[1]))
a = d["archive"]
(lo0, hi0), (lo1, hi1) = a["dims"][0]["range"], a["dims"][1]["range"]
NX, NY = 200, 25
a["dims"] = [{"bins": NX, "range": [lo0, hi0]}, {"bins": NY, "range": [0, NY]}]
a["cells"] = NX * NY
a["measure_labels"] = [None, {"categories": ["a very long category %02d" % i for i in range(NY)]}]
best = {}
for e in d["elites"]:
    m0, m1 = e["measures"]
    bx = min(NX - 1, int((m0 - lo0) / (hi0 - lo0) * NX))
    t = (m1 - lo1) / (hi1 - lo1) * NY
    by = min(NY - 1, int(t))
    e["measures"] = [m0, t]
    e["index"], e["coords"] = bx * NY + by, [bx, by]
    if e["index"] not in best or best[e["index"]]["objective"] < e["objective"]:
        best[e["index"]] = e
d["elites"] = sorted(best.values(), key=lambda e: e["index"])
with open(sys.argv[2], "w") as f:
    json.dump(d, f)
