#!/usr/bin/env python3
"""compare_pyribs.py - elites against pyribs on issue 13's configurations.

Runs MAP-Elites n=20, CMA-ME n=20 and n=100, CMA-MAE n=20 and Iso+LineDD
n=20 (pyribs' examples/sphere.py settings, as examples/sphere-*.json hold
them) through elites and, when `import ribs` works, through pyribs,
interleaved (for each configuration and seed: elites, then pyribs), with the
same seeds and iteration budgets. Prints a table of evals/s and the ratios:

- elites wall: the rate its own summary line prints (`done: ... (N evals/s)`);
- elites CPU: evaluations / the user + system CPU seconds of its search,
  from its first progress line to its last (start-up and saving left out);
- pyribs wall and CPU: the steady rate after the first iteration (numba's
  JIT warm-up), as issue 13 measures it, and the rate counting it;
- QD score: sum of objectives / 10,000 cells (pyribs' norm_qd_score of the
  result archive for CMA-MAE), side by side.

pyribs runs with OpenBLAS on one thread (OPENBLAS_NUM_THREADS=1), each run in
its own process; the kernel numpy's OpenBLAS runs is printed. Where
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set they hold OpenBLAS to older
kernels (for both sides): unset both in the benchmark's command alone, e.g.
`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=/path/to/pyribs
bench/compare_pyribs.py`. When ribs cannot be imported (pyribs is not packaged for
Debian; put its source on PYTHONPATH or set PYRIBS_PYTHON) the pyribs
columns are skipped and the reason printed.

pyribs 0.8.3 without PyPI, as RESULTS.md measured it: Debian's
python3-pandas python3-numba python3-scipy python3-sklearn (apt-get), then
pyribs' source and numpy_groupies' (neither is packaged) in one folder:
  git -C PYRIBS_CLONE archive v0.8.3 ribs | tar -x -C /tmp/pyribs
  git -C NUMPY_GROUPIES_CLONE archive HEAD numpy_groupies | tar -x -C /tmp/pyribs
  echo '__version__ = "0.11.2"' > /tmp/pyribs/numpy_groupies/_version.py
and PYTHONPATH=/tmp/pyribs PYRIBS_PYTHON=/usr/bin/python3 (Debian's python,
where apt put the packages, not a pyenv one first on PATH).

usage: bench/compare_pyribs.py [--elites ./elites] [--iterations N]
           [--seeds K] [--only NAME,...]
"""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

CONFIGS = [
    # name, example config, n
    ("MAP-Elites", "examples/sphere-map-elites.json", 20),
    ("CMA-ME", "examples/sphere-cma-me.json", 20),
    ("CMA-ME", "examples/sphere-cma-me.json", 100),
    ("CMA-MAE", "examples/sphere-cma-mae.json", 20),
    ("Iso+LineDD", "examples/sphere-line-map-elites.json", 20),
]


def pyribs_child(algorithm, n, iterations, seed):
    """Runs one pyribs search in this process; prints one JSON line."""
    import numpy as np
    from ribs.archives import GridArchive
    from ribs.emitters import EvolutionStrategyEmitter, GaussianEmitter, IsoLineEmitter
    from ribs.schedulers import Scheduler

    max_bound = n / 2 * 5.12
    ranges = [(-max_bound, max_bound)] * 2
    x0 = np.zeros(n)
    result = None
    if algorithm == "CMA-MAE":
        archive = GridArchive(solution_dim=n, dims=(100, 100), ranges=ranges, seed=seed,
                              learning_rate=0.01, threshold_min=0)
        result = GridArchive(solution_dim=n, dims=(100, 100), ranges=ranges, seed=seed)
    else:
        archive = GridArchive(solution_dim=n, dims=(100, 100), ranges=ranges, seed=seed)
    seeds = np.random.SeedSequence(seed).spawn(15)
    if algorithm == "MAP-Elites":
        emitters = [GaussianEmitter(archive, sigma=0.5, x0=x0, batch_size=540, seed=seed)]
    elif algorithm == "Iso+LineDD":
        emitters = [IsoLineEmitter(archive, iso_sigma=0.5, line_sigma=0.2, x0=x0, batch_size=540, seed=seed)]
    elif algorithm == "CMA-ME":
        emitters = [EvolutionStrategyEmitter(archive, x0=x0, sigma0=0.5, ranker="2imp", selection_rule="filter",
                                             restart_rule="no_improvement", batch_size=36, seed=s) for s in seeds]
    else:
        emitters = [EvolutionStrategyEmitter(archive, x0=x0, sigma0=0.5, ranker="imp", selection_rule="mu",
                                             restart_rule="basic", batch_size=36, seed=s) for s in seeds]
    scheduler = Scheduler(archive, emitters, result_archive=result)
    shift = 5.12 * 0.4
    worst = (-5.12 - shift) ** 2 * n

    def evaluate(x):
        objectives = (np.sum(np.square(x - shift), axis=1) - worst) / (0.0 - worst) * 100
        clipped = x.copy()
        mask = (clipped < -5.12) | (clipped > 5.12)
        clipped[mask] = 5.12 / clipped[mask]
        measures = np.stack((clipped[:, :n // 2].sum(axis=1), clipped[:, n // 2:].sum(axis=1)), axis=1)
        return objectives, measures

    evaluations = 0
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(iterations):
        x = scheduler.ask()
        objectives, measures = evaluate(x)
        scheduler.tell(objectives, measures)
        evaluations += len(x)
        if i == 0:
            w1, c1, first = time.perf_counter(), time.process_time(), evaluations
    w2, c2 = time.perf_counter(), time.process_time()
    steady = evaluations - first
    final = result if result is not None else archive
    print(json.dumps({
        "evaluations": evaluations,
        "wall_steady": steady / (w2 - w1) if w2 > w1 else 0.0,
        "cpu_steady": steady / (c2 - c1) if c2 > c1 else 0.0,
        "wall_total": evaluations / (w2 - w0),
        "qd": float(final.stats.norm_qd_score),
        "blas": blas_kernel(),
    }))


def blas_kernel():
    """numpy's BLAS and the kernel it runs (OPENBLAS_CORETYPE changes it)."""
    try:
        import threadpoolctl
        info = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
        return ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                         f"{i.get('num_threads')} thread(s)" for i in info) or "?"
    except ImportError:
        return "? (no threadpoolctl)"


def find_pyribs_python():
    """A python that can import ribs, or (None, why)."""
    candidates = [os.environ["PYRIBS_PYTHON"]] if os.environ.get("PYRIBS_PYTHON") else []
    candidates += [sys.executable, "python3", "/usr/bin/python3"]
    why = []
    for py in candidates:
        if not shutil.which(py) and not os.path.exists(py):
            continue
        r = subprocess.run([py, "-c", "import ribs; print(ribs.__version__)"], capture_output=True, text=True)
        if r.returncode == 0:
            return py, r.stdout.strip()
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        why.append(f"{py}: {last}")
    return None, "; ".join(why) or "no python3 found"


def process_cpu(pid):
    """User + system CPU seconds of process pid so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_elites(elites, config, n, iterations, seed, outdir):
    """One elites run; its summary rate, the CPU rate of its search (from the
    first progress line to the last, read from /proc while it runs: neither
    start-up nor saving counts) and its QD score."""
    cmd = [elites, "run", config, "--iterations", str(iterations), "--seed", str(seed),
           "--set", f"evaluator.dim={n}", "-o", outdir]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = last = None
    out = []
    for line in proc.stdout:
        out.append(line)
        m = re.match(r"iter (\d+)/(\d+) ", line)
        if m:
            mark = (int(m.group(1)), process_cpu(proc.pid))
            first = first or mark
            last = mark
    err = proc.stderr.read()
    if proc.wait() != 0:
        sys.exit(f"compare_pyribs: {' '.join(cmd)} failed ({proc.returncode}): {err.strip()}")
    out = "".join(out)
    done = re.search(r"done: (\d+) iterations, (\d+) evaluations.*\((\d+) evals/s\)", out)
    qd = re.search(r"QD score [0-9.e+]+ \(normalised ([0-9.e+-]+)\)", out)
    if not done or not qd or not first:
        sys.exit(f"compare_pyribs: no progress, summary line or QD score in the output of {' '.join(cmd)}")
    per_iteration = int(done.group(2)) / int(done.group(1))
    cpu = last[1] - first[1]
    return {"wall": float(done.group(3)),
            "cpu": (last[0] - first[0]) * per_iteration / cpu if cpu > 0 else float("nan"),
            "qd": float(qd.group(1))}


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description="elites against pyribs on issue 13's configurations")
    ap.add_argument("--elites", default="./elites")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated algorithm names, e.g. CMA-ME,MAP-Elites")
    ap.add_argument("--pyribs-child", nargs=4, metavar=("ALGORITHM", "N", "ITERATIONS", "SEED"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pyribs_child:
        a, n, it, seed = args.pyribs_child
        pyribs_child(a, int(n), int(it), int(seed))
        return
    py, version = find_pyribs_python()
    if py:
        print(f"pyribs {version} ({py}), OpenBLAS on one thread; elites {args.elites}")
    else:
        print(f"compare_pyribs: pyribs skipped, `import ribs` fails: {version}")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    only = set(filter(None, args.only.split(",")))
    rows = []
    tmp = tempfile.mkdtemp(prefix="compare-pyribs-")
    try:
        for name, config, n in CONFIGS:
            if only and name not in only:
                continue
            e_runs, p_runs = [], []
            for seed in range(1, args.seeds + 1):
                e_runs.append(run_elites(args.elites, config, n, args.iterations, seed,
                                         os.path.join(tmp, f"{name}-{n}-{seed}")))
                if py:
                    r = subprocess.run([py, os.path.abspath(__file__), "--pyribs-child", name, str(n),
                                        str(args.iterations), str(seed)], capture_output=True, text=True, env=env)
                    if r.returncode != 0:
                        sys.exit(f"compare_pyribs: pyribs {name} n={n} failed: {r.stderr.strip()[-2000:]}")
                    p_runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
            rows.append((name, n, e_runs, p_runs))
            if p_runs and not any(r[3] for r in rows[:-1]):
                print(f"pyribs' BLAS: {p_runs[0]['blas']}")
            print(f"  {name} n={n}: done", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{args.iterations} iterations, {args.seeds} seed(s), means over seeds\n")
    print("| algorithm | n | elites evals/s (wall) | pyribs steady (wall) | ratio wall | elites CPU evals/s |"
          " pyribs steady CPU | ratio CPU | pyribs with warm-up (wall) | ratio | QD elites | QD pyribs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, n, e, p in rows:
        ew, ec, eq = mean([r["wall"] for r in e]), mean([r["cpu"] for r in e]), mean([r["qd"] for r in e])
        if p:
            pw, pc, pt, pq = (mean([r[k] for r in p]) for k in ("wall_steady", "cpu_steady", "wall_total", "qd"))
            print(f"| {name} | {n} | {ew:,.0f} | {pw:,.0f} | {ew / pw:.2f}x | {ec:,.0f} | {pc:,.0f} | {ec / pc:.2f}x"
                  f" | {pt:,.0f} | {ew / pt:.2f}x | {eq:.2f} | {pq:.2f} |")
        else:
            print(f"| {name} | {n} | {ew:,.0f} | - | - | {ec:,.0f} | - | - | - | - | {eq:.2f} | - |")


if __name__ == "__main__":
    main()
