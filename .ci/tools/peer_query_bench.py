#!/usr/bin/env python3
"""The Python peer of `simba-tuner bench query`: the same cached-answer and replay workloads run
through GPTCache (sentence-transformers all-MiniLM-L6-v2 embeddings, faiss, SQLite), for
docs/BENCHMARKS.md. Not run in CI (it needs torch: ~6 GB).

    python3 -m venv V && V/bin/pip install sentence-transformers gptcache faiss-cpu sqlalchemy
    simba-tuner bench query --tokens 0 --workload-out /tmp/wl [--replay-rows 100000 ...]
    HF_HUB_OFFLINE=1 V/bin/python .ci/tools/peer_query_bench.py /tmp/wl MODEL_DIR [--threshold 0.8]

MODEL_DIR is the all-MiniLM-L6-v2 folder simba-tuner uses (~/.local/share/simba-tuner/models/
all-MiniLM-L6-v2). Like the engine, each user has a namespace of its own: one GPTCache per user
(GPTCache has no partitions). The threshold is the cosine the engine uses (0.8): GPTCache's
SearchDistanceEvaluation scores 4 - squared L2 distance (of unit vectors: 2 - 2 cos), so a cosine
c is its similarity_threshold (2 + 2c) / 4. What is timed per query is what `bench query` times
per query: embedding, search and reading the answer (a miss also stores the log's answer).
Prints one JSON object.
"""
import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from gptcache import Cache, Config
from gptcache.adapter.api import get, put
from gptcache.manager import CacheBase, VectorBase, get_data_manager
from gptcache.processor.pre import get_prompt
from gptcache.similarity_evaluation.distance import SearchDistanceEvaluation
from sentence_transformers import SentenceTransformer


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def quantile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


class Caches:
    """One GPTCache per namespace, each on its own SQLite file and faiss index."""

    def __init__(self, model, folder, cosine):
        self.model, self.folder, self.caches = model, folder, {}
        os.makedirs(folder, exist_ok=True)
        self.threshold = (2.0 + 2.0 * cosine) / 4.0

    def embed(self, text, **_):
        return self.model.encode(text, normalize_embeddings=True).astype(np.float32)

    def of(self, namespace):
        cache = self.caches.get(namespace)
        if cache is None:
            base = os.path.join(self.folder, f"ns{len(self.caches)}")
            manager = get_data_manager(
                CacheBase("sqlite", sql_url=f"sqlite:///{base}.db"),
                VectorBase("faiss", dimension=384, index_path=f"{base}.faiss"),
            )
            cache = Cache()
            cache.init(
                pre_embedding_func=get_prompt,
                embedding_func=self.embed,
                data_manager=manager,
                similarity_evaluation=SearchDistanceEvaluation(),
                config=Config(similarity_threshold=self.threshold),
            )
            self.caches[namespace] = cache
        return cache


def cached_answer(model, folder, workload, cosine):
    entries = read_jsonl(os.path.join(workload, "entries.jsonl"))
    probes = read_jsonl(os.path.join(workload, "probes.jsonl"))
    caches = Caches(model, folder, cosine)
    cache = caches.of("bench")
    questions = [e["question"] for e in entries]
    vectors = model.encode(questions, batch_size=32, normalize_embeddings=True).astype(np.float32)
    cache.data_manager.import_data(questions, [e["answer"] for e in entries], list(vectors), [None] * len(questions))
    hits, misses = [], []
    for p in probes:
        t = time.perf_counter()
        answer = get(p["query"], cache_obj=cache)
        ms = (time.perf_counter() - t) * 1000.0
        (hits if answer is not None else misses).append(ms)
    hits.sort()
    misses.sort()
    return {
        "entries": len(entries),
        "probes": len(probes),
        "hits": len(hits),
        "hit_p50_ms": quantile(hits, 0.5),
        "hit_p99_ms": quantile(hits, 0.99),
        "miss_p50_ms": quantile(misses, 0.5),
    }


def replay(model, folder, workload, cosine):
    rows = read_jsonl(os.path.join(workload, "replay.jsonl"))
    caches = Caches(model, folder, cosine)
    latencies, hits, false_hits = [], 0, 0
    started = time.perf_counter()
    for row in rows:
        cache = caches.of(row["user"])
        t = time.perf_counter()
        answer = get(row["query"], cache_obj=cache)
        if answer is None:
            put(row["query"], row.get("expected_answer") or "", cache_obj=cache)
        else:
            hits += 1
            false_hits += answer != row.get("expected_answer")
        latencies.append((time.perf_counter() - t) * 1000.0)
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "rows": len(rows),
        "hit_rate": hits / len(rows) if rows else None,
        # Hits whose answer was not the log's answer for that question, of the hits.
        "false_hit_rate": false_hits / hits if hits else None,
        "seconds": seconds,
        "queries_per_second": len(rows) / seconds if seconds > 0 else None,
        "p50_ms": quantile(latencies, 0.5),
        "p99_ms": quantile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies) if latencies else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("model_dir")
    ap.add_argument("--threshold", type=float, default=0.8, help="cosine, as the engine's threshold")
    ap.add_argument("--skip-replay", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model = SentenceTransformer(args.model_dir, device="cpu")
    model.encode("warm up")
    report = {"peer": "GPTCache %s + sentence-transformers, faiss, SQLite" % __import__("gptcache").__version__}
    # Removed at exit after GPTCache has flushed its indexes there (atexit runs last-in first-out).
    folder = tempfile.mkdtemp(prefix="gptcache-peer-")
    atexit.register(shutil.rmtree, folder, True)
    report["cached_answer"] = cached_answer(model, os.path.join(folder, "cached"), args.workload, args.threshold)
    print(json.dumps(report["cached_answer"]), file=sys.stderr)
    if not args.skip_replay and os.path.exists(os.path.join(args.workload, "replay.jsonl")):
        report["replay"] = replay(model, os.path.join(folder, "replay"), args.workload, args.threshold)
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
