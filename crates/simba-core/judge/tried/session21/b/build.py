#!/usr/bin/env python3
"""Parse src/<category>.txt (one `A || B` pair per line, # = comment),
label by category, randomly swap sides, shuffle, write train_judge_b.jsonl."""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
OUT = os.path.join(HERE, "train_judge_b.jsonl")

LABELS = {
    "reword_heavy": True,
    "register": True,
    "reorder_roles_kept": True,
    "role_swap": False,
    "opposite_effect": False,
    "entity_or_detail": False,
}


def parse(path, category):
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split("||")
            if len(parts) != 2:
                raise SystemExit(f"{path}:{n}: expected exactly one '||'")
            a, b = parts[0].strip(), parts[1].strip()
            if not a or not b:
                raise SystemExit(f"{path}:{n}: empty side")
            rows.append({"a": a, "b": b, "same_answer": LABELS[category], "category": category})
    return rows


def main():
    rows = []
    for category in LABELS:
        rows.extend(parse(os.path.join(SRC, category + ".txt"), category))
    rng = random.Random(4343)
    for r in rows:
        if rng.random() < 0.5:
            r["a"], r["b"] = r["b"], r["a"]
    rng.shuffle(rows)
    with open(OUT, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"a": r["a"], "b": r["b"], "same_answer": r["same_answer"],
                                 "category": r["category"]}, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
