#!/usr/bin/env python3
"""Drops from the judge's training pairs (crates/simba-core/judge/pairs/*.jsonl) every pair that
shares a question with a labelled evaluation set (tests/fixtures/eval_*.jsonl), so the sets that
measure the judge stay unseen by it. Texts are compared in lower case without punctuation.
Prints only counts (the blind sets' content is not shown). The test `judge_pairs_stay_apart`
(crates/simba-core/tests/eval_quality.rs) holds the same rule."""
import glob, json, os, re

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
norm = lambda t: " ".join(re.sub(r"[^a-z0-9 ]", " ", t.lower()).split())
held = set()
for f in glob.glob(os.path.join(root, "tests/fixtures/eval_*.jsonl")):
    for line in open(f, encoding="utf-8"):
        if line.strip():
            d = json.loads(line)
            held.update((norm(d["a"]), norm(d["b"])))
for f in sorted(glob.glob(os.path.join(root, "crates/simba-core/judge/pairs/*.jsonl"))):
    lines = [l for l in open(f, encoding="utf-8") if l.strip()]
    kept = [l for l in lines if not ({norm(json.loads(l)["a"]), norm(json.loads(l)["b"])} & held)]
    with open(f, "w", encoding="utf-8") as out:
        out.writelines(kept)
    print(f"{os.path.basename(f)}: kept {len(kept)} of {len(lines)}")
