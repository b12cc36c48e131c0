#!/usr/bin/env python3
"""The shape of real MiniLM question embeddings that the benchmark's vectors imitate
(`EmbeddingLike` in crates/simba-core/src/engine/bench.rs).

    HF_HUB_OFFLINE=1 V/bin/python .ci/tools/measure_embedding_shape.py MODEL_DIR tests/fixtures/eval_*.jsonl

(V: the sentence-transformers venv of make_minilm_reference.py.) Embeds the distinct `a` questions
of the given labelled sets and prints the cosine of unrelated pairs (mean, spread, percentiles),
each question's nearest neighbour, the length of the mean vector (a direction all share) and the
participation ratio of the covariance (effective number of dimensions). Measured on 2026-11-27
over the three sets then in the repo (1,057 questions): pairwise mean 0.115, sd 0.111, p99 0.441;
nearest-neighbour median 0.615; mean vector 0.340; participation ratio 87.1.
"""
import json
import sys

import numpy as np
from sentence_transformers import SentenceTransformer

texts = set()
for path in sys.argv[2:]:
    for line in open(path):
        texts.add(json.loads(line)["a"])
texts = sorted(texts)
model = SentenceTransformer(sys.argv[1], device="cpu")
E = model.encode(texts, normalize_embeddings=True, batch_size=64)
S = E @ E.T
n = len(texts)
pairs = S[np.triu_indices(n, 1)]
print("questions", n)
print("pairwise mean %.3f sd %.3f p50 %.3f p90 %.3f p99 %.3f" % (pairs.mean(), pairs.std(), *np.percentile(pairs, [50, 90, 99])))
np.fill_diagonal(S, -1)
print("nearest neighbour p10 %.3f p50 %.3f p90 %.3f" % tuple(np.percentile(S.max(1), [10, 50, 90])))
eig = np.linalg.eigvalsh(np.cov((E - E.mean(0)).T))
print("mean vector length %.3f" % np.linalg.norm(E.mean(0)))
print("participation ratio %.1f" % (eig.sum() ** 2 / (eig ** 2).sum()))
