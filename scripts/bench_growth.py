"""Growth: ingest time, query latency and store size at 10k, 50k and all 98,186 codes (`make bench-growth`).

Each size is a seeded random sample of the FY2026 codes (all of them at the last size), ingested with the
bundled model into a fresh store with the embedding cache off (so every vector is computed), then queried
from a fresh process: the 1,000 benchmark rephrasings one at a time, in the default hybrid mode and in
dense mode. Writes its table into BENCHMARKS.md. About 15 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from benchmarks_md import write_section

SIZES = (10_000, 50_000, None)  # None: the whole code set

INGEST = r"""
import json, random, sys, time
from icdsearch import ingest
from icdsearch.codeset import CodeSet, default_code_set
full = default_code_set()
n = int(sys.argv[2])
if n < len(full):
    keep = set(random.Random(20261124).sample(range(len(full)), n))
    codes = CodeSet(f"{full.version}-sample{n}", tuple(c for i, c in enumerate(full.codes) if i in keep), full.source)
else:
    codes = full
started = time.perf_counter()
report = ingest(codes=codes, store=sys.argv[1])
print(json.dumps({"codes": len(codes), "synonyms": report.synonyms, "seconds": time.perf_counter() - started,
                  "version": codes.version}))
"""

QUERY = r"""
import json, sys, time
import numpy as np
from icdsearch import search
from icdsearch.codeset import CodeSet
from icdsearch.evaluate import load_dataset
store, version = sys.argv[1], sys.argv[2]
codes = CodeSet(version, ())  # names the collection; the query path never loads ICD-10-CM
texts = [q.text for q in load_dataset().queries]
out = {}
for mode in ("hybrid", "dense"):
    search(texts[0], codes=codes, store=store, mode=mode)
    lat = []
    for text in texts:
        started = time.perf_counter()
        search(text, codes=codes, store=store, mode=mode)
        lat.append(time.perf_counter() - started)
    out[mode] = [1000 * float(np.percentile(lat, 50)), 1000 * float(np.percentile(lat, 99))]
print(json.dumps(out))
"""


def size_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def growth_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a growth ingest: every vector computed (embedding cache off), no hub."""
    return {**(base or os.environ), "ICDSEARCH_EMBEDDING_CACHE": "0", "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false"}


def measure_size(tmp: str, n: int | None, env: dict[str, str]) -> dict:
    """Ingest a seeded sample of n codes (None: all) into a fresh store under tmp, then time queries on it
    from a fresh process: one row of the growth table."""
    store = Path(tmp) / f"store-{n or 'all'}"
    print(f"growth: ingest {n or 'all'} codes...", flush=True)
    done = subprocess.run([sys.executable, "-c", INGEST, str(store), str(n or 10**9)], capture_output=True,
                          text=True, env=env, check=True)
    ingest = json.loads(done.stdout.strip().splitlines()[-1])
    asked = subprocess.run([sys.executable, "-c", QUERY, str(store), ingest["version"]], capture_output=True,
                           text=True, env=env, check=True)
    latency = json.loads(asked.stdout.strip().splitlines()[-1])
    return {"codes": ingest["codes"], "synonyms": ingest["synonyms"], "seconds": ingest["seconds"],
            "hybrid": latency["hybrid"], "dense": latency["dense"], "store_mib": size_mib(store),
            "lexical_mib": size_mib(store / "lexical"), "note": ""}


TABLE_HEAD = ["| codes | synonym documents | ingest (s) | codes+synonyms/s | hybrid p50 / p99 (ms) | dense p50 / p99 (ms) "
              "| store on disk (MiB) | of which lexical index (MiB) |", "|---|---|---|---|---|---|---|---|"]


def table_rows(rows: list[dict]) -> list[str]:
    lines = []
    for row in rows:
        rate = (row["codes"] + row["synonyms"]) / row["seconds"]
        lines.append(f"| {row['codes']:,}{row['note']} | {row['synonyms']:,} | {row['seconds']:.0f} | {rate:.0f} | "
                     f"{row['hybrid'][0]:.1f} / {row['hybrid'][1]:.1f} | "
                     f"{row['dense'][0]:.1f} / {row['dense'][1]:.1f} | {row['store_mib']:.0f} | {row['lexical_mib']:.1f} |")
    return lines


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure_size(tmp, n, growth_env()) for n in SIZES]
    lines = [f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores) by "
             "`make bench-growth`: seeded random samples of the FY2026 codes, bundled MiniLM (ONNX), embedding cache off; "
             "latency over the 1,000 benchmark rephrasings, one query at a time, in a fresh process.", "",
             *TABLE_HEAD, *table_rows(rows)]
    print("\n".join(lines))
    write_section("growth", "Growth: 10k, 50k and 98k codes", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
