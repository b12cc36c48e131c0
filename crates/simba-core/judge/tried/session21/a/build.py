#!/usr/bin/env python3
"""Build train_judge_a.jsonl from the hand-written pairs in src/.

Each src/<category>.txt holds one pair per line as `A || B`; lines starting
with '#' and blank lines are ignored. The label comes from the category.
Sides are swapped with probability 0.5 and the records are shuffled, both
with random.Random(4242). This script only parses, labels and shuffles.
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
OUT = os.path.join(HERE, "train_judge_a.jsonl")

LABELS = {
    "synonym": True,
    "idiom": True,
    "paraphrase": True,
    "near_synonym": False,
    "idiom_trap": False,
    "scope_or_measure": False,
}


def parse(path):
    pairs = []
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(" || ")
            if len(parts) != 2:
                sys.exit(f"{path}:{lineno}: expected exactly one ' || ' separator")
            a, b = parts[0].strip(), parts[1].strip()
            if not a or not b:
                sys.exit(f"{path}:{lineno}: empty side")
            pairs.append((a, b))
    return pairs


def main():
    rng = random.Random(4242)
    records = []
    for category in sorted(LABELS):
        path = os.path.join(SRC, category + ".txt")
        if not os.path.exists(path):
            sys.exit(f"missing {path}")
        for a, b in parse(path):
            if rng.random() < 0.5:
                a, b = b, a
            records.append({"a": a, "b": b,
                            "same_answer": LABELS[category],
                            "category": category})
    extra = sorted(set(f[:-4] for f in os.listdir(SRC) if f.endswith(".txt")) - set(LABELS))
    if extra:
        sys.exit(f"unexpected source files: {extra}")
    rng.shuffle(records)
    with open(OUT, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} records to {os.path.basename(OUT)}")


if __name__ == "__main__":
    main()
