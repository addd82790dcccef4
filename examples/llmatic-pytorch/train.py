#!/usr/bin/env python3
"""train.py - the PyTorch trainer of examples/llmatic-pytorch (LLMatic,
Nasir et al. 2023, with networks as PyTorch nn.Module source).

elites' command evaluator runs it in persistent mode: one JSON line per
candidate on stdin, {"id": 17, "seed": 3405691582, "text": "<python source>"},
one JSON line per reply on stdout. The source must define a class Net (or
any nn.Module subclass) built with no arguments, taking a batch of 1x8x8
images and returning 10 logits. It is trained on the shipped 8x8 digits
(data/digits.csv: label, 64 pixels) with Adam for --epochs epochs, seeded
from the candidate's seed, and answered with

  {"id": 17, "objective": <held-out accuracy, %>, "measures": [w, p],
   "meta": {"test_loss": ..., "params": ..., "depth": ..., "max_width": ...}}

with w = log(max width / depth) over [0.5, 512] and p = log(parameters)
over [650, --max-params], both mapped to [0, 1] (the paper's measures,
normalised to the archive's box). A network that does not build, gives the
wrong output shape, is over --max-params or does not train is answered
{"id": ..., "error": "why"}: a failed job, counted by elites.

Only torch and the standard library. Usage:
  python3 train.py [--epochs N] [--max-params N] [--data digits.csv] [--split-seed N]
"""
import argparse
import csv
import json
import math
import os
import random
import sys
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def load_digits(path, split_seed, test_fraction=0.2):
    xs, ys = [], []
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if not row or not row[0].strip().lstrip("-").isdigit():
                continue  # a header line
            ys.append(int(row[0]))
            xs.append([float(v) / 16.0 for v in row[1:]])
    order = list(range(len(ys)))
    random.Random(split_seed).shuffle(order)
    ntest = int(math.ceil(test_fraction * len(order)))

    def take(idx):
        x = torch.tensor([xs[i] for i in idx], dtype=torch.float32).view(-1, 1, 8, 8)
        y = torch.tensor([ys[i] for i in idx], dtype=torch.long)
        return x, y

    return take(order[ntest:]), take(order[:ntest])


def build(text):
    scope = {"torch": torch, "nn": nn, "F": F, "__name__": "genome"}
    exec(compile(text, "<genome>", "exec"), scope)
    cls = scope.get("Net")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        found = [v for v in scope.values() if isinstance(v, type) and issubclass(v, nn.Module) and v is not nn.Module]
        if not found:
            raise ValueError("the source defines no nn.Module class")
        cls = found[-1]
    return cls()


def unit(v, lo, hi):
    t = (math.log(max(v, 1e-12)) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return min(1.0, max(0.0, t))


def shape_features(model):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.RNNBase))]
    widths = []
    for m in layers:
        widths.append(getattr(m, "out_features", None) or getattr(m, "out_channels", None)
                      or getattr(m, "hidden_size", 1))
    depth = max(1, len(layers))
    return max(widths or [1]), depth, sum(p.numel() for p in model.parameters())


def evaluate(req, data, args):
    (xtr, ytr), (xte, yte) = data
    torch.manual_seed(int(req.get("seed", 0)) % (2 ** 63))
    gen = torch.Generator().manual_seed(int(req.get("seed", 0)) % (2 ** 63))
    try:
        model = build(req.get("text") or "")
    except Exception as e:  # the genome's own code failed
        return {"error": "build: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
    width, depth, params = shape_features(model)
    if params > args.max_params:
        return {"error": "%d parameters, more than --max-params (%d)" % (params, args.max_params)}
    try:
        out = model(xtr[:2])
    except Exception as e:
        return {"error": "forward: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
    if tuple(out.shape) != (2, 10):
        return {"error": "forward: output shape %s, expected (batch, 10)" % (tuple(out.shape),)}
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    n = xtr.shape[0]
    try:
        for _ in range(args.epochs):
            model.train()
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, args.batch):
                idx = perm[i:i + args.batch]
                opt.zero_grad()
                loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
                if not torch.isfinite(loss):
                    return {"error": "training: the loss diverged"}
                loss.backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            logits = model(xte)
            test_loss = float(F.cross_entropy(logits, yte))
            acc = float((logits.argmax(1) == yte).float().mean())
    except Exception as e:
        return {"error": "training: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
    return {"objective": 100.0 * acc,
            "measures": [unit(width / depth, 0.5, 512), unit(params, 650, args.max_params)],
            "meta": {"accuracy": acc, "test_loss": test_loss, "params": params, "depth": depth,
                     "max_width": width}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--max-params", type=int, default=200000)
    ap.add_argument("--split-seed", type=int, default=1)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "data", "digits.csv"))
    args = ap.parse_args()
    torch.set_num_threads(1)  # elites runs one trainer per worker
    data = load_digits(args.data, args.split_seed)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            reply = evaluate(req, data, args)
        except Exception:
            reply = {"error": "trainer: " + traceback.format_exc().strip().splitlines()[-1]}
        reply["id"] = req.get("id")
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
