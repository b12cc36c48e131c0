#!/usr/bin/env python3
"""Validate train_judge_b.jsonl: counts per category, labels, duplicates, lengths."""
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "train_judge_b.jsonl")

EXPECTED = {
    "reword_heavy": (200, True),
    "register": (150, True),
    "reorder_roles_kept": (150, True),
    "role_swap": (200, False),
    "opposite_effect": (150, False),
    "entity_or_detail": (150, False),
}


def norm(s):
    return re.sub(r"\s+", " ", s.strip().lower())


def main():
    errors = []
    rows = []
    with open(PATH, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            r = json.loads(line)
            if set(r) != {"a", "b", "same_answer", "category"}:
                errors.append(f"line {n}: keys {sorted(r)}")
            rows.append(r)
    counts = collections.Counter(r["category"] for r in rows)
    labels = collections.Counter(r["same_answer"] for r in rows)
    for cat, (want, label) in EXPECTED.items():
        if counts[cat] != want:
            errors.append(f"{cat}: {counts[cat]} pairs, expected {want}")
    for cat in counts:
        if cat not in EXPECTED:
            errors.append(f"unknown category {cat}")
    if len(rows) != 1000:
        errors.append(f"total {len(rows)}, expected 1000")
    if labels[True] != 500 or labels[False] != 500:
        errors.append(f"labels {dict(labels)}, expected 500/500")
    seen = {}
    for i, r in enumerate(rows, 1):
        cat = r["category"]
        if cat in EXPECTED and r["same_answer"] is not EXPECTED[cat][1]:
            errors.append(f"row {i}: label {r['same_answer']} wrong for {cat}")
        a, b = norm(r["a"]), norm(r["b"])
        if a == b:
            errors.append(f"row {i}: a == b")
        key = tuple(sorted((a, b)))
        if key in seen:
            errors.append(f"row {i}: duplicate of row {seen[key]}")
        seen[key] = i
        for side in ("a", "b"):
            w = len(r[side].split())
            if not 3 <= w <= 60:
                errors.append(f"row {i}: side {side} has {w} words")
    print("per category:")
    for cat in EXPECTED:
        print(f"  {cat:20s} {counts[cat]:4d}  same_answer={EXPECTED[cat][1]}")
    print(f"total {len(rows)}  true {labels[True]}  false {labels[False]}")
    if errors:
        print(f"{len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        sys.exit(1)
    print("OK: all checks passed")


if __name__ == "__main__":
    main()
