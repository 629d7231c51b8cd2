# Two commands do all the set-up on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast bench bench-load bench-accuracy bench-hnsw bench-growth bench-int8 clean

install: $(STAMP)

# Exact pins (torch==2.13.0 included) come from constraints.txt; pyproject.toml keeps ranges.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

# Ingest all 98,186 FY2026 codes with the bundled model into the default store, answer examples, and
# replay the rebuilt 2401.01943 benchmark (1,000 rephrasings) with the default model.
demo: install
	$(BIN)/icdsearch ingest
	$(BIN)/icdsearch query -k 5 -f examples/queries.txt
	$(BIN)/icdsearch collections
	$(BIN)/icdsearch evaluate --out evaluation
	$(BIN)/icdsearch evaluate --dataset shorthand --split heldout --billable-only

test: install
	$(BIN)/python -m pytest

# Skip the tests marked slow (real model, full code set, Chroma server): for quick local iteration only.
test-fast: install
	$(BIN)/python -m pytest -m "not slow"

# Reference (Chroma's SentenceTransformerEmbeddingFunction) vs icdsearch: ingest, cold query, latency,
# accuracy kept, HNSW agreement, growth, the machine's fp32 limit. 20-55 minutes on 2 cores; writes BENCHMARKS.md's speed and growth sections.
bench: install
	$(BIN)/python scripts/bench.py

# N concurrent clients against a `chroma run` server on 127.0.0.1 (needs `make demo` first); BENCHMARKS.md.
bench-load: install
	$(BIN)/python scripts/bench_load.py

# The evaluation of the default model on both corpora, written into BENCHMARKS.md (needs `make demo`).
bench-accuracy: install
	$(BIN)/python scripts/write_accuracy.py

# The growth table alone, all three sizes (10k, 50k, 98k) sampled the same way (about 20 minutes); BENCHMARKS.md.
bench-growth: install
	$(BIN)/python scripts/bench_growth.py

# int8 (the default) vs fp32 exact match on the benchmark (an fp32 ingest, about 8 minutes, then the evaluations; needs `make demo`); BENCHMARKS.md.
bench-int8: install
	$(BIN)/python scripts/bench_int8.py

# Top-1 agreement of Chroma's HNSW answer with exact search at several ef_search values (needs `make demo`).
bench-hnsw: install
	$(BIN)/python scripts/bench_hnsw.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
