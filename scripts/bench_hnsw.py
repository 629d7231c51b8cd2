"""HNSW vs exact search: top-1 agreement on the 1,000 benchmark queries at several ef_search values.

    python scripts/bench_hnsw.py [--store DIR] [--ef 128 256 512 1024]

Works on a copy of an ingested store (default: the default store). Chroma applies a changed ef_search
when a process next loads the index, so each value is set in one process and measured in a fresh one.
Writes the table into BENCHMARKS.md between the hnsw markers.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from benchmarks_md import write_section


MEASURE = r"""
import json, sys, time
import numpy as np
from icdsearch.codeset import DEFAULT_VERSION
from icdsearch.collections import Store, StoreConfig, collection_name
from icdsearch.evaluate import load_dataset
from icdsearch.models import load_embedder, resolve_model

store, ef = Store(StoreConfig(path=sys.argv[1])), int(sys.argv[2])
spec = resolve_model(None)
name = collection_name(spec, DEFAULT_VERSION)
if ef:
    store.open(name)._collection.modify(configuration={"hnsw": {"ef_search": ef}})
    sys.exit(0)
col = store.open(name)
queries = load_dataset().queries
vectors = load_embedder(spec, str(col.metadata.get("backend", "torch"))).embed_queries([q.text for q in queries])
raw = col._collection.get(include=["embeddings"])
matrix = np.asarray(raw["embeddings"], dtype=np.float32)
distances = (vectors**2).sum(1)[:, None] + (matrix**2).sum(1)[None, :] - 2 * vectors @ matrix.T
exact = [raw["ids"][j] for j in distances.argmin(1)]
col.query(vectors[:1], 10)  # load the index
started = time.perf_counter()
approx = [col.query(vectors[i:i + 1], 10)[0][0].code for i in range(len(vectors))]
elapsed = time.perf_counter() - started
truth = [q.code for q in queries]
print(json.dumps({
    "ef_search": col._collection.configuration["hnsw"]["ef_search"],
    "agreement": 100 * float(np.mean([a == b for a, b in zip(approx, exact)])),
    "exact_match_hnsw": 100 * float(np.mean([a == b for a, b in zip(approx, truth)])),
    "exact_match_exact": 100 * float(np.mean([a == b for a, b in zip(exact, truth)])),
    "ms_per_query": 1000 * elapsed / len(vectors),
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None)
    parser.add_argument("--ef", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from icdsearch.collections import HNSW, StoreConfig

    source = Path(StoreConfig.resolve(path=args.store).path or "")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("icdsearch.lock"))
        for ef in args.ef:
            subprocess.run([sys.executable, "-c", MEASURE, str(copy), str(ef)], check=True)
            out = subprocess.run([sys.executable, "-c", MEASURE, str(copy), "0"], check=True, capture_output=True, text=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    lines = [f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} ({platform.machine()}) by "
             f"`python scripts/bench_hnsw.py`: the default model's collection of all 98,186 codes "
             f"(ef_construction {HNSW['ef_construction']}, max_neighbors {HNSW['max_neighbors']}); icdsearch creates "
             f"collections with ef_search {HNSW['ef_search']}. Exact = brute force over the same stored vectors.", "",
             "| ef_search | top-1 agreement with exact (%) | exact match, HNSW (%) | exact match, exact search (%) | ms / query |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['ef_search']} | {r['agreement']:.1f} | {r['exact_match_hnsw']:.1f} | {r['exact_match_exact']:.1f} | "
              f"{r['ms_per_query']:.1f} |" for r in rows]
    print("\n".join(lines))
    if not args.no_write:
        write_section("hnsw", "Approximate (HNSW) vs exact search", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
