"""HNSW vs exact search: top-1 agreement on the 1,000 benchmark queries at several ef_search values.

    python scripts/bench_hnsw.py [--store DIR] [--ef 128 256 512 1024] [--synonym-ef 64 128 256 512 1024]

Both collections are measured: the codes (top-1 agreement, what the dense mode answers) and the synonym
companion (top-1 and the overlap of the 100 nearest, the candidates hybrid fusion takes from it).

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
from icdsearch.collections import Store, StoreConfig, collection_name, synonym_collection_name
from icdsearch.evaluate import load_dataset
from icdsearch.models import load_embedder, resolve_model

store, ef, role = Store(StoreConfig(path=sys.argv[1])), int(sys.argv[2]), sys.argv[3]
spec = resolve_model(None)
name = collection_name(spec, DEFAULT_VERSION)
if role == "synonyms":
    name = synonym_collection_name(name)
if ef:
    store.open(name)._collection.modify(configuration={"hnsw": {"ef_search": ef}})
    sys.exit(0)
col = store.open(name)
queries = load_dataset().queries
vectors = load_embedder(spec, str(col.metadata.get("backend", "torch"))).embed_queries([q.text for q in queries])
raw = col._collection.get(include=["embeddings"])
matrix = np.asarray(raw["embeddings"], dtype=np.float32)
distances = (vectors**2).sum(1)[:, None] + (matrix**2).sum(1)[None, :] - 2 * vectors @ matrix.T
order = np.argsort(distances, axis=1, kind="stable")[:, :100]  # ties (duplicate descriptions) as argmin
exact = [raw["ids"][row[0]] for row in order]
exact100 = [{raw["ids"][j] for j in row} for row in order]
col.nearest(vectors[:1], 100)  # load the index
started = time.perf_counter()
found = [col.nearest(vectors[i:i + 1], 100)[0] for i in range(len(vectors))]
elapsed = time.perf_counter() - started
approx = [f[0][0] for f in found]
truth = [q.code for q in queries]
print(json.dumps({
    "ef_search": col._collection.configuration["hnsw"]["ef_search"],
    "agreement": 100 * float(np.mean([a == b for a, b in zip(approx, exact)])),
    "overlap100": 100 * float(np.mean([len({d for d, _ in f} & e) / 100 for f, e in zip(found, exact100)])),
    "exact_match_hnsw": 100 * float(np.mean([a == b for a, b in zip(approx, truth)])),
    "exact_match_exact": 100 * float(np.mean([a == b for a, b in zip(exact, truth)])),
    "ms_per_query": 1000 * elapsed / len(vectors),
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None)
    parser.add_argument("--ef", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--synonym-ef", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from icdsearch.collections import HNSW, SYNONYM_EF_SEARCH, StoreConfig

    source = Path(StoreConfig.resolve(path=args.store).path or "")
    rows: dict[str, list[dict]] = {"codes": [], "synonyms": []}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("icdsearch.lock"))
        for role, values in (("codes", args.ef), ("synonyms", args.synonym_ef)):
            for ef in values:
                subprocess.run([sys.executable, "-c", MEASURE, str(copy), str(ef), role], check=True)
                out = subprocess.run([sys.executable, "-c", MEASURE, str(copy), "0", role], check=True,
                                     capture_output=True, text=True)
                rows[role].append(json.loads(out.stdout.strip().splitlines()[-1]))
    lines = [f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} ({platform.machine()}) by "
             f"`python scripts/bench_hnsw.py`: the default model's collection of all 98,186 codes "
             f"(ef_construction {HNSW['ef_construction']}, max_neighbors {HNSW['max_neighbors']}); icdsearch creates "
             f"collections with ef_search {HNSW['ef_search']}, their synonym companions (13,484 documents) with "
             f"{SYNONYM_EF_SEARCH}. Exact = brute force over the same stored vectors; overlap = share of the exact "
             "100 nearest documents among HNSW's 100 (hybrid takes 100 candidates from each collection); "
             "ms = one Chroma call for the 100 nearest, distances only, in a fresh process.", "",
             "| collection | ef_search | top-1 agreement with exact (%) | overlap of the 100 nearest (%) | "
             "exact match, HNSW (%) | exact match, exact search (%) | ms / query |",
             "|---|---|---|---|---|---|---|"]
    for role, label in (("codes", "codes (98,186)"), ("synonyms", "synonyms")):
        lines += [f"| {label} | {r['ef_search']} | {r['agreement']:.1f} | {r['overlap100']:.1f} | "
                  + (f"{r['exact_match_hnsw']:.1f} | {r['exact_match_exact']:.1f} | " if role == "codes" else "- | - | ")
                  + f"{r['ms_per_query']:.1f} |" for r in rows[role]]
    print("\n".join(lines))
    if not args.no_write:
        write_section("hnsw", "Approximate (HNSW) vs exact search", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
