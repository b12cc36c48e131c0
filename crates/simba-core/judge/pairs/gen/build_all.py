"""Run every generator, filter, shuffle and write train_gen_*.jsonl + stats.

Filters: 3-40 words per question; dedup (order-insensitive, normalised text)
within the new data and against the existing training pairs in
/work/main/crates/simba-core/judge/pairs/; a question text (normalised) that
occurs in any false pair is never used in a true pair (true pair dropped).
Side order (which question is A) is randomised with a fixed seed.
"""
import collections
import glob
import json
import os
import random

import gen_opposite
import gen_swaps
import gen_scope_metric
import gen_paraphrase
import gen_true_misc
from common import norm, nwords

SEED = 20261206
HERE = os.path.dirname(os.path.abspath(__file__))
EXISTING = os.path.join(HERE, "..", "train_[!g]*.jsonl")  # the hand-written pairs beside this folder

SOURCES = [
    ("train_gen_opposite.jsonl", gen_opposite),
    ("train_gen_swaps.jsonl", gen_swaps),
    ("train_gen_scope_metric.jsonl", gen_scope_metric),
    ("train_gen_paraphrase.jsonl", gen_paraphrase),
    ("train_gen_true_misc.jsonl", gen_true_misc),
]


def key(p):
    return tuple(sorted((norm(p["a"]), norm(p["b"]))))


def main():
    rng = random.Random(SEED)
    seen = set()
    for f in glob.glob(EXISTING):
        for line in open(f):
            seen.add(key(json.loads(line)))
    n_existing = len(seen)
    raw = []
    for fname, mod in SOURCES:
        for p in mod.generate(random.Random(rng.random())):
            raw.append((fname, p))
    drop = collections.Counter()
    false_texts = set()
    for fname, p in raw:
        if not p["same_answer"]:
            false_texts.add(norm(p["a"]))
            false_texts.add(norm(p["b"]))
    kept = collections.defaultdict(list)
    for fname, p in raw:
        a, b = p["a"].strip(), p["b"].strip()
        p["a"], p["b"] = a, b
        if norm(a) == norm(b) and not p["same_answer"]:
            drop["identical_false"] += 1
            continue
        if a == b:
            drop["identical"] += 1
            continue
        if not (3 <= nwords(a) <= 40 and 3 <= nwords(b) <= 40):
            drop["length"] += 1
            continue
        k = key(p)
        if k in seen:
            drop["duplicate"] += 1
            continue
        if p["same_answer"] and (norm(a) in false_texts or norm(b) in false_texts):
            drop["text_used_in_false_pair"] += 1
            continue
        seen.add(k)
        if rng.random() < 0.5:
            p = {"a": b, "b": a, "same_answer": p["same_answer"], "category": p["category"]}
        kept[fname].append(p)
    stats = {}
    for fname, ps in kept.items():
        rng.shuffle(ps)
        with open(os.path.join(HERE, fname), "w") as fh:
            for p in ps:
                fh.write(json.dumps(p, ensure_ascii=False) + "\n")
        c = collections.Counter((p["category"], p["same_answer"]) for p in ps)
        stats[fname] = {"total": len(ps), "by_category": {f"{k[0]}|{str(k[1]).lower()}": v for k, v in sorted(c.items())}}
    tot = sum(len(v) for v in kept.values())
    t = sum(p["same_answer"] for v in kept.values() for p in v)
    stats["_summary"] = {"total": tot, "true": t, "false": tot - t, "dropped": dict(drop),
                         "existing_pairs_checked": n_existing}
    json.dump(stats, open(os.path.join(HERE, "stats.json"), "w"), indent=1)
    update_readme(stats)
    print(json.dumps(stats, indent=1))


def update_readme(stats):
    """Rewrite the counts section of README.md from stats."""
    path = os.path.join(HERE, "README.md")
    if not os.path.exists(path):
        return
    s = stats["_summary"]
    rows = []
    for f, v in stats.items():
        if f.startswith("_"):
            continue
        for k, c in v["by_category"].items():
            cat, lab = k.split("|")
            rows.append(f"| {f} | {cat} | {lab} | {c} |")
        rows.append(f"| {f} | **total** | | **{v['total']}** |")
    block = ("## Counts\n\n"
             f"Total **{s['total']}** pairs: **{s['true']} true**, **{s['false']} false**.\n\n"
             "| file | category | same_answer | pairs |\n|---|---|---|---|\n"
             + "\n".join(rows) + "\n\n"
             f"Dropped while building: {json.dumps(s['dropped'])}.\n\n")
    text = open(path).read()
    i, j = text.index("## Counts"), text.index("## Filtering")
    open(path, "w").write(text[:i] + block + text[j:])


if __name__ == "__main__":
    main()
