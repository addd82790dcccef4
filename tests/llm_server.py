#!/usr/bin/env python3
"""llm_server.py - a deterministic OpenAI-compatible server for elites' tests.

Listens on 127.0.0.1 on a port the OS picks and prints "PORT <n>" on its
first line of output. Serves /v1/completions, /v1/chat/completions and
/v1/embeddings, and answers by fixed rules (no model):

* Feedback prompts ("### Instruction: <question> ### Input: <text>
  ### Response:"): the answer labels are the label words the question
  mentions (positive, negative, yes, no, horror, romance, happy, tragic, the
  five poem genres and five tones). Each label's logit is
  0.55 * (number of the label's lexicon words in the text), plus 0.1 for the
  first label mentioned; "yes" has logit 1.2 * (topic words) - 2 against
  "no" at 0. The reply's first answer token carries top logprobs over the
  labels, each split into two spellings (" label" 3/4, "Label" 1/4) beside
  two filler tokens, so a client must merge variants and normalise. A
  question containing "0 to 10" is answered with a rating
  round(10 * p(first label)) (or p(yes) when no label is named) as text.
* QDHF triplet prompts (the instruction "Of B and C, which is more similar
  to A? Answer B or C." over an input of lines "A: ...", "B: ...",
  "C: ..."): p(B) = 1 / (1 + exp(-8 (J(A, B) - J(A, C)))) with J the
  Jaccard similarity of the texts' word sets; the answer token carries top
  logprobs over " B" and " C" (beside a filler token) and the text is the
  likelier letter.
* Any other prompt is a generation prompt (LMX few-shot, zero-shot or
  rewrite): the continuation is built by a PRNG seeded from a SHA-256 of the
  prompt and the request's seed. Opinions (the default domain): d in
  [-10, 10] picks the surplus of positive over negative words, plus 0..4
  topic words and filler. Stories ("story" in the prompt): d1 horror minus
  romance, d2 happy minus tragic words. Poems ("poem"): one genre and one
  tone, two words of each. After the text the model "continues the
  pattern" with "\\n###\\n..."; stop strings cut it, max_tokens counts
  words.
* Network-writing prompts (LLMatic: a prompt holding a network of the
  network language in a code fence): the reply is prose around a fenced
  network made from the parent(s) by the instruction, with choices drawn
  from a PRNG seeded by the prompt and the request's seed. "Add fully
  connected / convolutional / pooling layer", "residual connection(s)",
  "dropout", "normalization" add that layer; "Delete" removes a hidden
  layer; "reducing" / "increasing the size" halve / double every width;
  "Add a layer" and "Improve" pick one of these; "recurrent" answers with
  an "lstm" line the language lacks (an invalid network); "Combine" (the
  crossover prompt) puts the second network's layers after its flatten
  behind all but the last layer of the first. One reply in twenty holds no network at all.
* PyTorch prompts (a code fence holding an nn.Module class): the same
  instructions applied to the class's nn.Sequential (Conv2d, MaxPool2d,
  Flatten, Linear, ReLU, Tanh, Dropout, BatchNorm1d), rendered again in the
  layout of elites' default seed; "recurrent" adds an nn.LSTM (whose tuple
  output breaks the forward pass), "residual" a Linear layer.
* Embeddings: 16 numbers, word counts hashed (CRC-32) into buckets, L2
  normalised.

The model name picks the reply shape of a server family: "test-openai"
(default), "test-vllm", "test-vllm-oldchat" (vLLM before 0.4: completion-
style logprobs in chat replies, content null inside them), "test-llamacpp",
"test-llamacpp-old" (llama.cpp before b4400: logprobs null, top-level
completion_probabilities with probabilities), "test-llamacpp-probs"
(post-sampling "prob"/"top_probs"), "test-ollama" (chat logprobs only),
"test-ollama-old" (no logprobs anywhere), "test-nousage" (no usage block),
"test-nostop" (ignores stop strings).

Control (POST /control, JSON): {"faults": [...]} queues faults for the next
requests, each one of {"kind": "429", "retry_after": s}, {"kind": "503",
"retry_after": s}, {"kind": "500"}, {"kind": "400"}, {"kind": "stall",
"seconds": s}, {"kind": "drop"} (close with no reply), {"kind": "cut"}
(close in the middle of the body), {"kind": "truncate"} (a complete HTTP
reply whose JSON is cut), {"kind": "wrong_shape"}, {"kind": "empty_choices"} (a 200 with
"choices": []), {"kind": "no_logprobs"} (the normal reply without its
logprobs), {"kind": "echo_auth"}
(a 401 whose body repeats the Authorization header it got);
{"every": n, "kind": k} fails every n-th API request; {"random": {"rate": r,
"seed": n, "kinds": [...], "seconds": s, "retry_after": s}} fails a share r
of the API requests (drawn from a PRNG seeded with n, in arrival order) with
a kind picked uniformly from kinds (default: 429 with Retry-After, 500, 503,
drop, stall for "seconds", cut, truncate, wrong_shape, empty_choices,
no_logprobs), counting each in /stats "faults"; {"random": null} stops it; {"require_key": s}
answers 401 (echoing the header) unless "Authorization: Bearer s";
{"latency": s} sleeps s seconds per API request; {"reset": true}. GET /stats
gives request counts.

{"kind": "500", "message": m} sends that error message. Taught what a
real llama.cpp server did: {"n_ctx": n} makes GET /props answer
llama.cpp's {"default_generation_settings": {"n_ctx": n}} and a prompt of n
words or more get llama.cpp's HTTP 500 "Input prompt is too big compared to
KV size" (counted as context_rejected); {"props_delay": s} answers /props
s seconds late (other requests go on meanwhile); {"judge_length": true}
gives the judge's answers finish_reason "length" (a real model runs on past
its label until the judge's few max_tokens); {"variants": {"yes": ["Y",
"Yes."]}} spells a label's two answer tokens so; {"split": {"negative":
[" neg", "ative"]}} makes a label several tokens (the first piece among the
alternatives; when it is the answer, the next pieces follow with logprob
-0.05 each); {"generate": text} answers every generation prompt with
text; {"follow": true} makes opinions follow their few-shot examples (the
child's positive-minus-negative word surplus is the examples' mean plus
N(0, 2), its topic words their mean plus N(0, 1); zero-shot children are
mild, N(0, 2)), so that the QDAIF paper's baselines differ; {"record": true} keeps the API request bodies for GET
/bodies. A generation cut by max_tokens has finish_reason "length".

{"kind": "big"} answers with a 20 kB reply. GET /stats also gives the
largest number of API requests served at once (max_inflight).

Usage: llm_server.py [--latency SECONDS] [--watch-stdin]
(--watch-stdin: exit when standard input closes, so a test that dies never
leaves a server behind)
"""
import hashlib
import json
import math
import os
import random
import re
import socket
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POSITIVE = ["delicious", "love", "wonderful", "great", "healthy", "fresh", "tasty", "enjoy", "amazing", "vibrant"]
NEGATIVE = ["awful", "hate", "bland", "boring", "bitter", "soggy", "disgusting", "terrible", "dull", "gross"]
TOPIC = ["vegetables", "broccoli", "spinach", "carrots", "plant-based", "salad", "beans", "lentils",
         "spy", "politician", "secret", "agent", "rhyme", "stanza", "meter", "poem"]
OPINION_TOPIC = TOPIC[:8]
STORY_TOPIC = TOPIC[8:12]
POEM_TOPIC = TOPIC[12:]
FILLER = ["i", "think", "that", "eating", "really", "are", "the", "every", "day", "my", "family", "friends",
          "meals", "food", "often", "people", "say", "we"]
STORY_FILLER = ["the", "night", "he", "she", "met", "a", "in", "city", "old", "house", "train", "letter"]
LEXICON = {
    "positive": POSITIVE,
    "negative": NEGATIVE,
    "horror": ["blood", "scream", "ghost", "fear", "shadow", "dread", "corpse", "haunted"],
    "romance": ["kiss", "heart", "romance", "passion", "embrace", "tender", "sweetheart", "longing"],
    "happy": ["happily", "smiled", "joy", "celebrated", "reunited", "laughed", "sunshine", "cheer"],
    "tragic": ["died", "tragedy", "lost", "grief", "tears", "ruin", "betrayed", "mourned"],
    "haiku": ["blossom", "frog", "pond", "autumn"],
    "sonnet": ["thee", "thy", "doth", "fairest"],
    "ballad": ["sailor", "village", "ballad", "wandering"],
    "limerick": ["nantucket", "fellow", "bucket", "limerick"],
    "hymn": ["lord", "praise", "glory", "hallelujah"],
    "dark": ["gloom", "grave", "despair", "abyss"],
    "mysterious": ["riddle", "mist", "unknown", "whisper"],
    "romantic": ["beloved", "rose", "moonlight", "darling"],
    "reflective": ["remember", "quiet", "ponder", "memory"],
}
GENRES = ["haiku", "sonnet", "ballad", "limerick", "hymn"]
TONES = ["happy", "dark", "mysterious", "romantic", "reflective"]
LABELS = list(LEXICON) + ["yes", "no"]
WORD = re.compile(r"[a-z-]+")

STATE = {"faults": [], "every": None, "require_key": None, "latency": 0.0, "requests": 0, "api_requests": 0,
         "by_path": {}, "auth_seen": 0, "auth_ok": 0, "inflight": 0, "max_inflight": 0, "generation": 0,
         "n_ctx": None, "context_rejected": 0, "variants": {}, "split": {}, "props": 0, "bodies": [],
         "record": False, "generate": None, "follow": False, "props_delay": 0.0, "judge_length": False,
         "random": None, "rng": None, "faults_done": {}}
KV_FULL = {"error": {"code": 500, "message": "Input prompt is too big compared to KV size. Please try increasing KV size.",
                     "type": "server_error"}}
RANDOM_KINDS = ["429", "500", "503", "drop", "stall", "cut", "truncate", "wrong_shape", "empty_choices", "no_logprobs"]
LOCK = threading.Lock()


def words(text):
    return WORD.findall(text.lower())


def count(text, lexicon):
    ws = set(lexicon)
    return sum(1 for w in words(text) if w in ws)


def question_labels(question):
    """The known labels a question names, in order of first mention."""
    found = []
    for w in words(question):
        if w in LABELS and w not in found:
            found.append(w)
    return found


def label_probs(labels, text):
    """p(label) by the server's rule; labels as named by the question."""
    if "yes" in labels or "no" in labels or not labels:
        p_yes = 1.0 / (1.0 + math.exp(-(1.2 * count(text, TOPIC) - 2.0)))
        if labels == ["no", "yes"]:
            return {"no": 1.0 - p_yes, "yes": p_yes}
        return {"yes": p_yes, "no": 1.0 - p_yes}
    logits = [0.55 * count(text, LEXICON[lab]) + (0.1 if i == 0 else 0.0) for i, lab in enumerate(labels)]
    top = max(logits)
    e = [math.exp(v - top) for v in logits]
    s = sum(e)
    return {lab: e[i] / s for i, lab in enumerate(labels)}


def split_feedback(prompt):
    """(question, text) of an instruction prompt, or None."""
    m = re.search(r"### Instruction:\s*(.*?)\s*### Input:\s*(.*?)\s*### Response:", prompt, re.S)
    if not m:
        return None
    return m.group(1), m.group(2)


def triplet_texts(question, text):
    """(A, B, C) of a QDHF triplet prompt, or None."""
    if "more similar to a" not in question.lower():
        return None
    found = {}
    for line in text.split("\n"):
        m = re.match(r"\s*([ABC]):\s?(.*)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return (found["A"], found["B"], found["C"]) if len(found) == 3 else None


def triplet_p_b(a, b, c):
    """The server's p(B is the more similar to A)."""
    def jaccard(x, y):
        x, y = set(words(x)), set(words(y))
        return len(x & y) / len(x | y) if x | y else 0.0
    return 1.0 / (1.0 + math.exp(-8.0 * (jaccard(a, b) - jaccard(a, c))))


def rng_for(prompt, seed):
    h = hashlib.sha256((prompt + "\x00" + str(seed)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def generate(prompt, seed):
    """A new text for a generation prompt (without the model's run-on)."""
    with LOCK:
        fixed = STATE["generate"]
    if fixed is not None:
        return " " + fixed
    r = rng_for(prompt, seed)
    low = prompt.lower()
    # the template is the last line of a few-shot prompt; the domain is
    # read from it (or from the whole prompt)
    if "poem" in low:
        g, t = r.choice(GENRES), r.choice(TONES)
        ws = r.sample(LEXICON[g], 2) + r.sample(LEXICON[t], 2) + r.sample(POEM_TOPIC, r.randint(0, 4))
        ws += r.sample(["the", "under", "a", "of", "and", "my", "in", "light", "water"], r.randint(2, 4))
    elif "story" in low or "stories" in low:
        d1, d2 = r.randint(-10, 10), r.randint(-10, 10)
        e1, e2 = r.randint(0, 1), r.randint(0, 1)
        ws = pick(r, LEXICON["horror"], max(d1, 0) + e1) + pick(r, LEXICON["romance"], max(-d1, 0) + e1)
        ws += pick(r, LEXICON["happy"], max(d2, 0) + e2) + pick(r, LEXICON["tragic"], max(-d2, 0) + e2)
        ws += r.sample(STORY_TOPIC, r.randint(0, 4)) + pick(r, STORY_FILLER, r.randint(3, 6))
    else:
        d, extra, topics = r.randint(-10, 10), r.randint(0, 2), None
        with LOCK:
            follow = STATE["follow"]
        if follow:  # like a model: the child resembles its few-shot examples
            ex = examples(prompt)
            if ex:
                d = round(sum(count(e, POSITIVE) - count(e, NEGATIVE) for e in ex) / len(ex) + r.gauss(0, 2))
                topics = round(sum(count(e, OPINION_TOPIC) for e in ex) / len(ex) + r.gauss(0, 1))
            else:  # zero-shot: a plain, mild opinion
                d, topics = round(r.gauss(0, 2)), r.randint(0, 2)
            d, topics = max(-10, min(10, d)), max(0, min(4, topics))
        ws = pick(r, POSITIVE, max(d, 0) + extra) + pick(r, NEGATIVE, max(-d, 0) + extra)
        ws += r.sample(OPINION_TOPIC, r.randint(0, 4) if topics is None else topics) + pick(r, FILLER, r.randint(3, 6))
    r.shuffle(ws)
    roll = r.random()
    if roll < 0.04:
        return ""  # an empty child: the mutator must reject it
    if roll < 0.08:
        ex = examples(prompt)
        if ex:
            return " " + ex[-1]  # a copy of an example: a duplicate
    text = " ".join(ws)
    text = " " + text[:1].upper() + text[1:]
    return text + ("." if roll < 0.6 else "")


FENCE = re.compile(r"```[A-Za-z]*\n(.*?)```", re.S)


def prompt_networks(prompt):
    """The networks (lists of layer lines) in a prompt's code fences."""
    out = []
    for block in FENCE.findall(prompt):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip() and not ln.strip().startswith("#")]
        if lines and lines[0].startswith("input "):
            out.append(lines)
    return out


def spatial(lines, upto):
    """The height of the examples before lines[upto] (1 once flat)."""
    dims = lines[0].split()[1].split("x")
    h = int(dims[0]) if len(dims) == 3 else 1
    for ln in lines[1:upto]:
        w = ln.split()
        if w[0] == "conv" and "same" not in w:
            h -= int(w[2].split("x")[0]) - 1
        elif w[0] == "pool":
            h //= int(w[2])
        elif w[0] == "flatten":
            h = 1
    return h


def scale(lines, f):
    out = []
    for ln in lines[:-1]:
        w = ln.split()
        if w[0] in ("conv", "dense"):
            w[1] = str(max(4, min(256, int(int(w[1]) * f))))
        out.append(" ".join(w))
    return out + lines[-1:]


def edit_network(r, lines, instruction):
    """A child of one network by an instruction (may be invalid on purpose)."""
    low = instruction.lower()
    lines = list(lines)
    out_at = len(lines) - 1
    width = r.choice([16, 32, 64, 128])
    if "recurrent" in low:
        return lines[:out_at] + ["lstm %d" % width] + lines[out_at:]
    if "reducing" in low:
        return scale(lines, 0.5)
    if "increasing" in low:
        return scale(lines, 2)
    kinds = ["fully", "conv", "pool", "residual", "dropout", "normal", "delete"]
    kind = next((k for k in kinds if k in low), None)
    if kind is None:
        kind = r.choice(kinds[:-1] if "add a layer" in low else kinds)
    image = "x" in lines[0].split()[1]
    flat_at = next((i for i, ln in enumerate(lines) if ln == "flatten"), None)
    if kind == "conv" and image and flat_at is not None:
        return lines[:1] + ["conv %d 3x3 same relu" % r.choice([8, 16, 32])] + lines[1:]
    if kind == "pool" and flat_at is not None and spatial(lines, flat_at) >= 2:
        return lines[:flat_at] + ["pool max 2"] + lines[flat_at:]
    if kind == "residual":
        block = ["dense %d relu" % width, "residual begin", "dense %d relu" % width, "residual end"]
        if "multiple" in low:
            block += ["residual begin", "dense %d tanh" % width, "residual end"]
        return lines[:out_at] + block + lines[out_at:]
    if kind == "dropout":
        return lines[:out_at] + ["dropout 0.%d" % r.randint(1, 4)] + lines[out_at:]
    if kind == "normal":
        return lines[:out_at] + ["batchnorm"] + lines[out_at:]
    if kind == "delete":
        # a hidden layer outside residual blocks (none: the network as it is)
        depth, cands = 0, []
        for i, ln in enumerate(lines[1:out_at], 1):
            if ln == "residual begin":
                depth += 1
            elif ln == "residual end":
                depth -= 1
            elif depth == 0 and ln.split()[0] in ("dense", "dropout", "batchnorm"):
                cands.append(i)
        if cands:
            del lines[r.choice(cands)]
        return lines
    return lines[:out_at] + ["dense %d %s" % (width, r.choice(["relu", "relu", "tanh"]))] + lines[out_at:]


def crossover_network(a, b):
    """The first network's layers up to its flatten and its hidden layers,
    then the second's hidden layers and output."""
    fb = b.index("flatten") if "flatten" in b else 0
    return a[:-1] + b[fb + 1:]


def network_reply(prompt, seed, nets):
    r = rng_for(prompt, seed)
    if r.random() < 0.05:
        return "I am sorry, I cannot write that network."
    instruction = prompt[prompt.rfind("```") + 3:].strip().split("\n")[0]
    if "combine" in instruction.lower() and len(nets) >= 2:
        child = crossover_network(nets[0], nets[1])
    else:
        child = edit_network(r, nets[-1], instruction)
    return "Here is the new network:\n\n```\n" + "\n".join(child) + "\n```\n\nIt should train well."


MODULE_ITEM = re.compile(r"nn\.(\w+)\(([^)]*)\)")


def module_spec(src):
    """The layers of an nn.Sequential written as elites' seed writes it, or None."""
    m = re.search(r"nn\.Sequential\((.*?)\n\s*\)", src, re.S)
    if not m:
        return None
    spec = []
    for name, args in MODULE_ITEM.findall(m.group(1)):
        a = [x.strip() for x in args.split(",") if x.strip()]
        if name == "Linear":
            spec.append(("Linear", int(a[1])))
        elif name == "Conv2d":
            spec.append(("Conv2d", int(a[1])))
        elif name == "Dropout":
            spec.append(("Dropout", float(a[0]) if a else 0.5))
        elif name == "LSTM":
            spec.append(("LSTM", int(a[1])))
        elif name in ("Flatten", "ReLU", "Tanh", "MaxPool2d", "BatchNorm1d"):
            spec.append((name, None))
        else:
            return None
    return spec


def render_module(spec, shape):
    c, h, w = shape
    items, flat = [], None
    for kind, v in spec:
        if kind == "Conv2d":
            items.append("nn.Conv2d(%d, %d, 3, padding=1)" % (c, v))
            c = v
        elif kind == "MaxPool2d":
            items.append("nn.MaxPool2d(2)")
            h, w = h // 2, w // 2
        elif kind == "Flatten":
            items.append("nn.Flatten()")
            flat = c * h * w
        elif kind == "Linear":
            items.append("nn.Linear(%d, %d)" % (flat, v))
            flat = v
        elif kind == "LSTM":
            items.append("nn.LSTM(%d, %d)" % (flat, v))
            flat = v
        elif kind == "Dropout":
            items.append("nn.Dropout(%g)" % v)
        elif kind == "BatchNorm1d":
            items.append("nn.BatchNorm1d(%d)" % flat)
        else:
            items.append("nn.%s()" % kind)
    body = "".join("            %s,\n" % it for it in items)
    return ("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.layers = nn.Sequential(\n" + body + "        )\n\n    def forward(self, x):\n"
            "        return self.layers(x)\n")


def edit_module(r, spec, instruction):
    low = instruction.lower()
    spec = list(spec)
    last = max(i for i, (k, _) in enumerate(spec) if k == "Linear")
    flat_at = next((i for i, (k, _) in enumerate(spec) if k == "Flatten"), 0)
    width = r.choice([16, 32, 64, 128])
    if "recurrent" in low:
        return spec[:last] + [("LSTM", width)] + spec[last:]
    if "reducing" in low or "increasing" in low:
        f = 0.5 if "reducing" in low else 2
        return [(k, max(4, min(256, int(v * f)))) if k in ("Linear", "Conv2d") and i != last else (k, v)
                for i, (k, v) in enumerate(spec)]
    kinds = ["fully", "conv", "pool", "dropout", "normal", "delete"]
    kind = next((k for k in kinds if k in low), None)
    if kind is None:
        kind = r.choice(kinds[:-1] if "add a layer" in low else kinds)
    if kind == "conv":
        return spec[:flat_at] + [("Conv2d", r.choice([8, 16, 32])), ("ReLU", None)] + spec[flat_at:]
    if kind == "pool" and sum(k == "MaxPool2d" for k, _ in spec) < 2:
        return spec[:flat_at] + [("MaxPool2d", None)] + spec[flat_at:]
    if kind == "dropout":
        return spec[:last] + [("Dropout", r.randint(1, 4) / 10)] + spec[last:]
    if kind == "normal":
        return spec[:last] + [("BatchNorm1d", None)] + spec[last:]
    if kind == "delete":
        hidden = [i for i, (k, _) in enumerate(spec) if k in ("Linear", "Dropout", "BatchNorm1d") and i != last]
        if hidden:
            i = r.choice(hidden)
            n = 2 if i + 1 < len(spec) and spec[i + 1][0] in ("ReLU", "Tanh") else 1
            del spec[i:i + n]
        return spec
    return spec[:last] + [("Linear", width), (r.choice(["ReLU", "ReLU", "Tanh"]), None)] + spec[last:]


def module_reply(prompt, seed, modules):
    r = rng_for(prompt, seed)
    if r.random() < 0.05:
        return "I am sorry, I cannot write that module."
    m = re.search(r"shape \(batch, (\d+), (\d+), (\d+)\)", prompt)
    shape = tuple(int(v) for v in m.groups()) if m else (1, 8, 8)
    instruction = prompt[prompt.rfind("```") + 3:].strip().split("\n")[0]
    specs = [module_spec(src) for src in modules]
    if any(sp is None for sp in specs):
        return "```python\n" + modules[-1] + "```\n"  # a module of another layout: given back as it is
    if "combine" in instruction.lower() and len(specs) >= 2:
        a, b = specs[0], specs[1]
        fa = next(i for i, (k, _) in enumerate(a) if k == "Flatten")
        fb = next(i for i, (k, _) in enumerate(b) if k == "Flatten")
        child = a[:fa] + b[fb:]
    else:
        child = edit_module(r, specs[-1], instruction)
    return "Here is the new module:\n\n```python\n" + render_module(child, shape) + "```\n\nIt should train well."


def pick(r, pool, n):
    """n words drawn from pool with replacement."""
    return [r.choice(pool) for _ in range(n)]


def examples(prompt):
    """The example texts of a few-shot prompt (after each template line)."""
    parts = prompt.split("\n###\n")
    out = []
    for part in parts[:-1]:
        m = re.search(r":\s*(.*)$", part, re.S)
        if m and m.group(1).strip():
            out.append(m.group(1).strip())
    return out


def apply_stop(text, stop, max_tokens):
    full = text + "\n###\nHere is another one: more text"
    if stop:
        cut = len(full)
        for s in stop:
            if s:
                i = full.find(s)
                if 0 <= i < cut:
                    cut = i
        full = full[:cut]
    cut = False
    if max_tokens and max_tokens > 0:
        ws = full.split(" ")
        if len(ws) > max_tokens + 1:
            full = " ".join(ws[: max_tokens + 1])
            cut = True
    return full, cut


def answer_tokens(probs, labels, ntop):
    """The answer's first token and its top alternatives, best first."""
    filler = 0.04
    alts = []
    with LOCK:
        variants, split = dict(STATE["variants"]), dict(STATE["split"])
    for lab in labels:
        p = probs[lab] * (1.0 - 2 * filler)
        spelled = lab
        if lab == "limerick":
            spelled = "limer"  # a prefix token, as a tokenizer may give
        if lab in split:
            spelled = split[lab][0].strip()  # the first of several tokens
        first, second = variants.get(lab, [" " + spelled, spelled.capitalize()])
        alts.append((first, 0.75 * p))
        alts.append((second, 0.25 * p))
    alts.append((" The", filler))
    alts.append(("\n", filler))
    alts.sort(key=lambda a: -a[1])
    alts = [(t, math.log(p) if p > 0 else -9999.0) for t, p in alts]
    return alts[0], alts[: max(ntop, 0)]


def logprob_shape(family, chat, tokens, ntop):
    """The logprobs object of a reply for a family; tokens is a list of
    (token, logprob, alternatives)."""
    if family in ("llamacpp-old", "ollama-old") or (family == "ollama" and not chat):
        return None
    if family == "llamacpp-probs":
        return {"content": [{"id": 1, "token": t, "bytes": list(t.encode()), "prob": math.exp(lp),
                             "top_probs": [{"id": 2, "token": a, "bytes": list(a.encode()), "prob": math.exp(b)}
                                           for a, b in alts]} for t, lp, alts in tokens]}
    legacy = (not chat and family in ("openai", "vllm", "nousage", "nostop")) or (chat and family == "vllm-oldchat")
    if legacy:
        out = {"text_offset": list(range(len(tokens))), "token_logprobs": [lp for _, lp, _ in tokens],
               "tokens": [t for t, _, _ in tokens], "top_logprobs": [dict(alts) for _, _, alts in tokens]}
        if chat:
            out["content"] = None
        return out
    content = []
    for t, lp, alts in tokens:
        item = {"token": t, "logprob": lp, "bytes": list(t.encode()),
                "top_logprobs": [{"token": a, "logprob": b, "bytes": list(a.encode())} for a, b in alts]}
        if family.startswith("llamacpp"):
            item["id"] = 7
            for x in item["top_logprobs"]:
                x["id"] = 8
        content.append(item)
    return {"content": content}


def reply_for(path, body, family):
    chat = path.endswith("/chat/completions")
    if chat:
        msgs = body.get("messages") or []
        prompt = "\n".join(m.get("content") or "" for m in msgs if isinstance(m, dict))
    else:
        prompt = body.get("prompt") or ""
        if isinstance(prompt, list):
            prompt = prompt[0] if prompt else ""
    seed = body.get("seed", 0)
    if chat:
        want = bool(body.get("logprobs"))
        ntop = int(body.get("top_logprobs") or 0) if want else 0
    else:
        lp = body.get("logprobs")
        want = lp is not None and lp is not False
        ntop = int(lp or 0) if want else 0
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if family == "nostop":
        stop = None
    fb = split_feedback(prompt)
    nets = prompt_networks(prompt) if not fb else []
    modules = [b for b in FENCE.findall(prompt) if "nn.Module" in b] if not fb and not nets else []
    tokens = []
    finish = "stop"
    if modules:
        out = module_reply(prompt, seed, modules)
        tokens = [(w, -0.5, [(w, -0.5)][: max(ntop, 0)]) for w in out.split(" ")[:5]]
    elif nets:
        out = network_reply(prompt, seed, nets)
        tokens = [(w, -0.5, [(w, -0.5)][: max(ntop, 0)]) for w in out.split(" ")[:5]]
    elif fb and triplet_texts(*fb):
        p_b = triplet_p_b(*triplet_texts(*fb))
        filler = 0.04
        alts = sorted([(" B", p_b * (1 - filler)), (" C", (1 - p_b) * (1 - filler)), (" The", filler)],
                      key=lambda a: -a[1])
        alts = [(t, math.log(p) if p > 0 else -9999.0) for t, p in alts]
        out = " B" if p_b >= 0.5 else " C"
        tokens = [(alts[0][0], alts[0][1], alts[: max(ntop, 0)])]
    elif fb:
        question, text = fb
        labels = question_labels(question)
        probs = label_probs(labels, text)
        if "0 to 10" in question:
            first = labels[0] if labels and labels[0] not in ("yes", "no") else "yes"
            out = " %d" % round(10 * probs[first])
            tokens = [(out, -0.01, [(out, -0.01)])]
        else:
            shown = labels if labels else ["yes", "no"]
            (tok, lp), alts = answer_tokens(probs, shown, ntop)
            best = max(shown, key=lambda lab: probs[lab])
            out = " " + best  # the text spells the label out
            tokens = [(tok, lp, alts)]
            with LOCK:
                split = STATE["split"].get(best)
            if split and tok == split[0]:  # the rest of a label of several tokens
                for piece in split[1:]:
                    tokens.append((piece, -0.05, [(piece, -0.05)][: max(ntop, 0)]))
            if family == "vllm":  # a leading newline token, as some chat templates give
                tokens.insert(0, ("\n", -0.001, [("\n", -0.001), (" The", -7.5)][: max(ntop, 0)]))
                out = "\n" + out
        with LOCK:
            if STATE["judge_length"]:
                finish = "length"
    else:
        out, cut = apply_stop(generate(prompt, seed), stop, int(body.get("max_tokens") or 0))
        if cut:
            finish = "length"
        for w in out.split(" ")[:5]:
            tokens.append((w, -0.5, [(w, -0.5)][: max(ntop, 0)]))
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": max(1, len(out.split())),
             "total_tokens": len(prompt.split()) + max(1, len(out.split()))}
    lps = logprob_shape(family, chat, tokens, ntop) if want else None
    model = body.get("model", "")
    if chat:
        choice = {"index": 0, "message": {"role": "assistant", "content": out}, "finish_reason": finish}
        if family.startswith("ollama"):
            if lps is not None:
                choice["logprobs"] = lps
        else:
            choice["logprobs"] = lps
        reply = {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
                 "choices": [choice], "usage": usage}
    else:
        choice = {"text": out, "index": 0, "logprobs": lps, "finish_reason": finish}
        if family.startswith("ollama"):
            del choice["logprobs"]
        reply = {"id": "cmpl-test", "object": "text_completion", "created": 0, "model": model,
                 "choices": [choice], "usage": usage}
        if family == "llamacpp-old" and want:
            reply["completion_probabilities"] = [
                {"content": t, "probs": [{"tok_str": a, "prob": math.exp(b)} for a, b in alts]}
                for t, _, alts in tokens]
    if family == "nousage":
        del reply["usage"]
    if family.startswith("llamacpp"):
        reply["system_fingerprint"] = "b0000-test"
        reply["timings"] = {"prompt_n": usage["prompt_tokens"], "predicted_n": usage["completion_tokens"]}
    return reply


def embedding_for(text):
    v = [0.0] * 16
    for w in words(text):
        v[zlib.crc32(w.encode()) % 16] += 1.0
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's
        # algorithm and the client's delayed ACK add 40 ms to every reply
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def leave(self):
        """Stops counting this request as in flight: before its reply goes
        out, so a client that got it and sends the next one is never
        counted twice."""
        with LOCK:
            if getattr(self, "counted", None) == STATE["generation"]:
                STATE["inflight"] -= 1
            self.counted = None

    def send_json(self, code, obj, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode("utf-8")
        self.leave()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                s = {k: STATE[k] for k in ("requests", "api_requests", "by_path", "auth_seen", "auth_ok",
                                           "max_inflight", "context_rejected", "props")}
                s["faults_left"] = len(STATE["faults"])
                s["faults"] = dict(STATE["faults_done"])
            self.send_json(200, s)
        elif self.path.split("?")[0] == "/v1/models":  # what elites' start-up probe asks
            with LOCK:
                need = STATE["require_key"]
            if need is not None and self.headers.get("Authorization") != "Bearer " + need:
                self.send_json(401, {"error": {"message": "Incorrect API key provided",
                                               "type": "invalid_request_error"}})
            else:
                self.send_json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
        elif self.path == "/bodies":  # the request bodies received, in order
            with LOCK:
                b = list(STATE["bodies"])
            self.send_json(200, {"bodies": b})
        elif self.path == "/props" and STATE["n_ctx"]:  # llama.cpp's: the context of one slot
            with LOCK:
                STATE["props"] += 1
                delay = STATE["props_delay"]
            if delay > 0:  # a busy server: the API requests of other clients go on meanwhile
                time.sleep(delay)
            self.send_json(200, {"default_generation_settings": {"n_ctx": STATE["n_ctx"]}, "total_slots": 4})
        else:
            self.send_json(404, {"error": {"message": "not found", "type": "not_found_error"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path == "/control":
            self.control(raw)
            return
        with LOCK:  # requests from before a reset (a stalled one) do not count
            self.counted = STATE["generation"]
            STATE["inflight"] += 1
            STATE["max_inflight"] = max(STATE["max_inflight"], STATE["inflight"])
        try:
            self.api(raw)
        finally:
            self.leave()

    def api(self, raw):
        path = self.path.split("?")[0]
        auth = self.headers.get("Authorization")
        with LOCK:
            STATE["requests"] += 1
            STATE["api_requests"] += 1
            n = STATE["api_requests"]
            STATE["by_path"][path] = STATE["by_path"].get(path, 0) + 1
            fault = STATE["faults"].pop(0) if STATE["faults"] else None
            every = STATE["every"]
            if fault is None and every and n % every["n"] == 0:
                fault = every
            rnd = STATE["random"]
            if fault is None and rnd and STATE["rng"].random() < float(rnd.get("rate", 0.3)):
                kinds = rnd.get("kinds") or RANDOM_KINDS
                fault = {"kind": kinds[STATE["rng"].randrange(len(kinds))], "seconds": rnd.get("seconds", 5),
                         "retry_after": rnd.get("retry_after", 0)}
            if fault:
                k = str(fault.get("kind"))
                STATE["faults_done"][k] = STATE["faults_done"].get(k, 0) + 1
            need = STATE["require_key"]
            latency = STATE["latency"]
            if auth:
                STATE["auth_seen"] += 1
            if need is not None and auth == "Bearer " + need:
                STATE["auth_ok"] += 1
        if latency > 0:
            time.sleep(latency)
        if fault and self.fault(fault, auth):
            return
        if need is not None and auth != "Bearer " + need:
            self.send_json(401, {"error": {"message": "Incorrect API key provided: %s" % auth,
                                           "type": "invalid_request_error"}})
            return
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            self.send_json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
            return
        model = body.get("model") or ""
        family = model[5:] if model.startswith("test-") else "openai"
        with LOCK:
            if STATE["record"]:
                STATE["bodies"].append(body)
            n_ctx = STATE["n_ctx"]
        if n_ctx and path != "/v1/embeddings":
            msgs = body.get("messages") or []
            text = body.get("prompt") or "\n".join(m.get("content") or "" for m in msgs if isinstance(m, dict))
            if len(str(text).split()) >= n_ctx:  # llama.cpp: a prompt longer than a slot's context
                with LOCK:
                    STATE["context_rejected"] += 1
                self.send_json(500, KV_FULL)
                return
        if path in ("/v1/completions", "/v1/chat/completions"):
            reply = reply_for(path, body, family)
            if fault and fault.get("kind") == "no_logprobs":
                reply.pop("completion_probabilities", None)
                for c in reply["choices"]:
                    c.pop("logprobs", None)
            self.send_json(200, reply)
        elif path == "/v1/embeddings":
            inp = body.get("input")
            texts = inp if isinstance(inp, list) else [inp or ""]
            data = [{"object": "embedding", "index": i, "embedding": embedding_for(t)} for i, t in enumerate(texts)]
            reply = {"object": "list", "data": data, "model": model,
                     "usage": {"prompt_tokens": sum(len(t.split()) for t in texts), "total_tokens": 0}}
            if family == "nousage":
                del reply["usage"]
            self.send_json(200, reply)
        else:
            self.send_json(404, {"error": {"message": "no route %s" % path, "type": "not_found_error"}})

    def fault(self, f, auth):
        """Acts out a fault; True when the request is answered."""
        kind = str(f.get("kind"))
        if kind in ("429", "503"):
            hdr = {"Retry-After": str(f["retry_after"])} if "retry_after" in f else {}
            self.send_json(int(kind), {"error": {"message": "slow down", "type": "rate_limit"}}, hdr)
        elif kind in ("500", "502", "400", "404"):
            self.send_json(int(kind), {"error": {"message": f.get("message", "injected %s" % kind),
                                                 "type": "server_error"}})
        elif kind == "echo_auth":
            self.send_json(401, {"error": {"message": "bad key: %s" % auth, "type": "invalid_request_error"}})
        elif kind == "stall":
            time.sleep(float(f.get("seconds", 5)))
            self.close_connection = True
            return True
        elif kind == "drop":
            self.close_connection = True
        elif kind == "cut":
            self.leave()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"choices": [{"text": "half')
            self.wfile.flush()
            self.close_connection = True
        elif kind == "truncate":
            self.send_json(200, None, raw=b'{"id": "cmpl-test", "choices": [{"text": " cut sh')
        elif kind == "big":
            self.send_json(200, {"choices": [{"text": "x" * 20000, "index": 0}]})
        elif kind == "wrong_shape":
            self.send_json(200, {"id": "cmpl-test", "result": "no choices here"})
        elif kind == "empty_choices":
            self.send_json(200, {"id": "cmpl-test", "object": "text_completion", "choices": []})
        else:
            return False
        return True

    def control(self, raw):
        try:
            c = json.loads(raw.decode("utf-8") or "{}")
        except ValueError:
            self.send_json(400, {"error": "control body is not JSON"})
            return
        with LOCK:
            STATE["requests"] += 1
            if c.get("reset"):
                STATE.update(faults=[], every=None, require_key=None, latency=0.0, api_requests=0, by_path={},
                             auth_seen=0, auth_ok=0, inflight=0, max_inflight=0, generation=STATE["generation"] + 1,
                             n_ctx=None, context_rejected=0, variants={}, split={}, props=0, bodies=[], record=False,
                             generate=None, follow=False, props_delay=0.0, judge_length=False, random=None, rng=None, faults_done={})
            for k in ("n_ctx", "variants", "split", "record", "generate", "follow", "props_delay", "judge_length"):
                if k in c:
                    STATE[k] = c[k]
            STATE["faults"].extend(c.get("faults", []))
            if "every" in c:
                STATE["every"] = {"n": int(c["every"]), **{k: v for k, v in c.items() if k in ("kind", "retry_after")}}
            if "require_key" in c:
                STATE["require_key"] = c["require_key"]
            if "latency" in c:
                STATE["latency"] = float(c["latency"])
            if "random" in c:
                STATE["random"] = c["random"]
                STATE["rng"] = random.Random(int((c["random"] or {}).get("seed", 0)))
        self.send_json(200, {"ok": True})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # clients that time out and hang up are part of the tests


def watch_stdin():
    """Exits when stdin closes: the test that started us has ended."""
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def main():
    args = sys.argv[1:]
    if "--latency" in args:
        STATE["latency"] = float(args[args.index("--latency") + 1])
    if "--watch-stdin" in args:
        threading.Thread(target=watch_stdin, daemon=True).start()
    server = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
