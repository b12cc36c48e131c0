#!/usr/bin/env python3
"""Validate train_judge_a.jsonl: keys, per-category counts, labels,
duplicates (order-insensitive, lower-cased, whitespace collapsed),
a != b, and 3-60 words per side. Exits non-zero on any failure."""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "train_judge_a.jsonl")

EXPECTED = {
    "synonym": (200, True),
    "idiom": (150, True),
    "paraphrase": (150, True),
    "near_synonym": (200, False),
    "idiom_trap": (150, False),
    "scope_or_measure": (150, False),
}
KEYS = {"a", "b", "same_answer", "category"}


def norm(s):
    return re.sub(r"\s+", " ", s.strip().lower())


def is_two_part(s):
    # a context sentence followed by the question: at least one sentence end before the last one
    return len([m for m in re.finditer(r"[.?!](\s+)(?=\S)", s.strip())]) >= 1


def main():
    errors = []
    recs = []
    with open(PATH, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {i}: bad JSON ({e})")
                continue
            if set(r) != KEYS:
                errors.append(f"line {i}: keys {sorted(r)} != {sorted(KEYS)}")
                continue
            recs.append((i, r))

    cats = Counter(r["category"] for _, r in recs)
    for cat, (n, label) in EXPECTED.items():
        if cats.get(cat, 0) != n:
            errors.append(f"category {cat}: {cats.get(cat, 0)} pairs, expected {n}")
    for cat in cats:
        if cat not in EXPECTED:
            errors.append(f"unknown category {cat}")
    if len(recs) != 1000:
        errors.append(f"total {len(recs)} != 1000")

    labels = Counter(r["same_answer"] for _, r in recs)
    if labels.get(True, 0) != 500 or labels.get(False, 0) != 500:
        errors.append(f"label balance {dict(labels)} != 500/500")

    seen = {}
    two_part = Counter()
    for i, r in recs:
        a, b = r["a"], r["b"]
        if not isinstance(a, str) or not isinstance(b, str):
            errors.append(f"line {i}: a/b must be strings")
            continue
        if not isinstance(r["same_answer"], bool):
            errors.append(f"line {i}: same_answer must be bool")
        exp = EXPECTED.get(r["category"])
        if exp and r["same_answer"] is not exp[1]:
            errors.append(f"line {i}: label {r['same_answer']} wrong for {r['category']}")
        na, nb = norm(a), norm(b)
        if na == nb:
            errors.append(f"line {i}: a == b")
        key = tuple(sorted((na, nb)))
        if key in seen:
            errors.append(f"line {i}: duplicate of line {seen[key]}")
        else:
            seen[key] = i
        for side, text in (("a", a), ("b", b)):
            n = len(text.split())
            if not 3 <= n <= 60:
                errors.append(f"line {i}: side {side} has {n} words")
        if is_two_part(a) and is_two_part(b):
            two_part[r["category"]] += 1

    print("per category:")
    for cat, (n, label) in EXPECTED.items():
        print(f"  {cat:18s} {cats.get(cat, 0):4d}  (expected {n}, same_answer={label})")
    print(f"total: {len(recs)}  true: {labels.get(True, 0)}  false: {labels.get(False, 0)}")
    print(f"multi-sentence (context + question) pairs: {sum(two_part.values())} {dict(two_part)}")
    if errors:
        print(f"\n{len(errors)} error(s):")
        for e in errors[:200]:
            print("  " + e)
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
