"""Evaluate: replay a benchmark of (code, text) pairs against each model's collection.

The default benchmark rebuilds arXiv 2401.01943's: 100 FY2026 codes (50 three-character categories, 50
six-character codes) with 10 rephrasings each, written by this project (see data/DATASHEET.md). The second
bundled dataset, ``shorthand``, holds short queries as clinicians and patients write them (abbreviations,
lay words, misspellings, laterality, encounters), split into ``tune`` and ``heldout``. Each text is searched
with a retrieval mode (``hybrid``, the default, or ``dense``, the paper's setup: embed, nearest description);
the top-1 code is the prediction. Scores have stable flat names (see :mod:`icdsearch.metrics`).
:func:`ablation` replays both datasets with each part of hybrid retrieval switched on alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import metrics
from .codeset import CodeSet, normalize_code, resolve_code_set
from .collections import Store, StoreConfig, as_store, package_versions
from .files import read_user_text
from .errors import BadDataset, CollectionNotFound, IncompleteCollection, StoreNotFound
from .ingest import Progress, ingest
from .models import ModelSpec, load_embedder, resolve_model
from .query import (
    ABLATION,
    MODES,
    PARTS,
    Pipeline,
    Retriever,
    build_where,
    dense_search,
    open_collection,
    resolve_mode,
    validate_k,
)

BENCHMARK_PATH = Path(__file__).parent / "data" / "benchmark_rephrasings.csv"
SHORTHAND_PATH = Path(__file__).parent / "data" / "shorthand_queries.csv"
#: 160 rephrasings of 80 other codes in the benchmark's style: a development set, so that retrieval
#: changes can be tried on paraphrases without tuning on the benchmark itself.
PARAPHRASE_DEV_PATH = Path(__file__).parent / "data" / "paraphrase_dev.csv"
#: Bundled datasets by name (``--dataset shorthand``); anything else is a CSV path.
DATASETS = {"benchmark": BENCHMARK_PATH, "shorthand": SHORTHAND_PATH, "paraphrase-dev": PARAPHRASE_DEV_PATH}
SPLITS = ("tune", "heldout")
TEXT_COLUMNS = ("rephrasing", "query")
CORPORA = ("full", "benchmark")

#: The paper's headline figures, shown beside ours and never mixed with measured rows.
PAPER_REFERENCES: tuple[dict[str, Any], ...] = (
    {"label": "best generalist (reported in 2401.01943)", "kind": "generalist", "exact_match": 84.0},
    {"label": "best clinical, ClinicalBERT (reported in 2401.01943)", "kind": "clinical", "exact_match": 64.4},
)


@dataclass(frozen=True)
class Query:
    qid: str
    code: str  # dotted, known to the code set
    text: str


@dataclass(frozen=True)
class Dataset:
    name: str
    path: str
    sha256: str
    code_column: str
    text_column: str
    queries: tuple[Query, ...]
    unknown: tuple[tuple[int, str], ...] = ()  # (CSV line, code as written) not in the code set

    @property
    def codes(self) -> list[str]:
        return sorted({q.code for q in self.queries})


def paper_references(path: str | Path) -> tuple[dict[str, Any], ...]:
    """The paper's reported rows to show beside a dataset's results: not beside the shorthand set, which
    measures something else, nor the development set, whose figures are for trying changes."""
    own = {SHORTHAND_PATH.resolve(), PARAPHRASE_DEV_PATH.resolve()}
    return () if Path(path).resolve() in own else PAPER_REFERENCES


def load_dataset(path: str | Path | None = None, code_column: str = "code", text_column: str | None = None,
                 code_set: CodeSet | None = None, split: str | None = None) -> Dataset:
    """Read a CSV of (code, text) pairs. Codes may be dotted or not; unknown codes are kept aside, reported.

    ``path``: a CSV, or a bundled dataset's name (``benchmark``, ``shorthand``). ``split``: keep only the
    rows whose ``split`` column says so (``tune`` or ``heldout``).
    """
    path = DATASETS[str(path)] if str(path) in DATASETS else Path(path) if path is not None else BENCHMARK_PATH
    raw, text = read_user_text(path, "dataset", BadDataset)
    try:
        reader = csv.DictReader(io.StringIO(text))
        columns = [c.strip() for c in (reader.fieldnames or [])]
        rows = list(reader)
    except csv.Error as exc:
        raise BadDataset(f"dataset {path} is not a readable CSV ({exc})") from None
    reader.fieldnames = columns
    if not columns:
        raise BadDataset(f"dataset {path} is empty: it needs a header row with a code and a text column")
    if code_column not in columns:
        raise BadDataset(f"dataset {path} has no column {code_column!r} (columns: {', '.join(columns)}); "
                         "pass --code-column")
    if text_column is None:
        text_column = next((c for c in TEXT_COLUMNS if c in columns), None)
        if text_column is None:
            raise BadDataset(f"dataset {path} has no 'rephrasing' or 'query' column (columns: {', '.join(columns)}); "
                             "pass --text-column")
    elif text_column not in columns:
        raise BadDataset(f"dataset {path} has no column {text_column!r} (columns: {', '.join(columns)})")

    if split is not None:
        if split not in SPLITS:
            raise BadDataset(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
        if "split" not in columns:
            raise BadDataset(f"dataset {path} has no 'split' column to take the {split} split from")
    queries: list[Query] = []
    unknown: list[tuple[int, str]] = []
    for line, row in enumerate(rows, 2):
        if split is not None and (row.get("split") or "").strip() != split:
            continue
        written = (row.get(code_column) or "").strip()
        query_text = (row.get(text_column) or "").strip()
        if not query_text:
            raise BadDataset(f"{path}:{line}: empty {text_column!r}")
        code = normalize_code(written)
        if code is None or (code_set is not None and code not in code_set):
            unknown.append((line, written))
            continue
        queries.append(Query(f"q{line:05d}", code, query_text))
    if not queries:
        raise BadDataset(f"dataset {path} has no usable rows"
                         + (f" (all {len(unknown)} codes are unknown to the code set)" if unknown else ""))
    name = path.stem if split is None else f"{path.stem}.{split}"
    return Dataset(name, str(path), hashlib.sha256(raw).hexdigest(), code_column, text_column,
                   tuple(queries), tuple(unknown))


@dataclass
class ModelResult:
    """One model's evaluation: configuration, scores, intervals, timings and per-query predictions."""

    model: str
    kind: str
    collection: str
    dataset: str
    dataset_sha256: str
    code_set_version: str
    corpus: str
    k: int
    n_queries: int
    mode: str
    scores: dict[str, float]
    ci95: dict[str, list[float]]
    timings: dict[str, float]
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    unknown_codes: list[dict[str, Any]] = field(default_factory=list)
    #: Wrong top-1 answers by how they relate to the true code, per code length (metrics.miss_kinds).
    misses: dict[str, dict[str, int]] = field(default_factory=dict)
    created_at: str = ""
    predictions: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        """Everything but the per-query predictions (what the JSON summary file holds)."""
        out = asdict(self)
        out.pop("predictions")
        return out

    def flags(self, name: str) -> list[bool]:
        return [bool(p[name]) for p in self.predictions]


@dataclass(frozen=True)
class PairedTest:
    """Exact-match comparison of two models on the same queries."""

    model_a: str
    model_b: str
    only_a_right: int
    only_b_right: int
    mcnemar_p: float
    exact_match_diff: float  # a - b, percentage points
    diff_ci95: tuple[float, float]


@dataclass
class EvaluationReport:
    dataset: Dataset
    results: list[ModelResult]
    paired: list[PairedTest]
    references: tuple[dict[str, Any], ...] = PAPER_REFERENCES


def evaluate(
    models: Sequence[str | ModelSpec] | str | None = None,
    dataset: str | Path | None = None,
    *,
    code_column: str = "code",
    text_column: str | None = None,
    corpus: str = "full",
    k: int = 10,
    codes: str | CodeSet = "all",
    store: Store | StoreConfig | str | None = None,
    out: str | Path | None = None,
    progress: Callable[[str], Progress | None] | None = None,
    backend: str | None = None,
    mode: str | Pipeline | None = None,
    split: str | None = None,
    billable_only: bool = False,
) -> EvaluationReport:
    """Replay ``dataset`` (default: the rebuilt paper benchmark) against each model; ingest what is missing.

    ``mode``: "hybrid" (default) or "dense" (the paper's setup), or a :class:`Pipeline`. ``progress(model_name)``
    may return an ingest progress callback for a collection that must be built; ``backend`` is the backend
    such a collection is built with (see :func:`icdsearch.ingest`).
    """
    k = validate_k(k)
    pipeline = resolve_mode(mode)
    if corpus not in CORPORA:
        raise BadDataset(f"--corpus must be one of {', '.join(CORPORA)}, got {corpus!r}")
    if isinstance(models, (str, ModelSpec)):
        models = [models]
    specs = [m if isinstance(m, ModelSpec) else resolve_model(m) for m in (models or [None])]
    code_set = resolve_code_set(codes)
    data = load_dataset(dataset, code_column, text_column, code_set, split)
    store = as_store(store)
    restrict = data.codes if corpus == "benchmark" else None
    if restrict is not None and billable_only:
        restrict = [c for c in restrict if (code := code_set.get(c)) is not None and code.billable]
        if not restrict:
            raise BadDataset(f"--billable-only with --corpus benchmark: dataset {data.name} has no billable code")

    results = [_evaluate_model(spec, data, code_set, store, corpus, restrict, k, progress, backend, pipeline,
                               billable_only) for spec in specs]
    paired = [_paired(a, b) for i, a in enumerate(results) for b in results[i + 1:]]
    references = paper_references(data.path)
    report = EvaluationReport(data, results, paired, references)
    if out is not None:
        write_outputs(report, Path(out))
    return report


def mode_label(pipeline: Pipeline) -> str:
    """``hybrid``, ``dense``, an ablation row's label, or ``hybrid-without-<parts>``."""
    for name, known in (*MODES.items(), *ABLATION):
        if pipeline == known:
            return name
    off = [part for part in PARTS if not getattr(pipeline, part)]
    return "hybrid-without-" + "-".join(off) if off and replace(pipeline, **{p: True for p in off}) == MODES["hybrid"] else "custom"


def _evaluate_model(spec: ModelSpec, data: Dataset, code_set: CodeSet, store: Store, corpus: str,
                    restrict: list[str] | None, k: int, progress: Callable[[str], Progress | None] | None,
                    backend: str | None = None, pipeline: Pipeline = MODES["hybrid"],
                    billable_only: bool = False) -> ModelResult:
    started = time.perf_counter()

    def open_all() -> tuple[ModelSpec, Any, Any, Retriever | None]:
        spec_, collection_, info_ = open_collection(spec, code_set, store)
        retriever_ = None if pipeline.dense_only else Retriever.open(store, spec_, collection_, info_, pipeline)
        return spec_, collection_, info_, retriever_

    try:
        spec, collection, info, retriever = open_all()
    except (CollectionNotFound, IncompleteCollection, StoreNotFound):
        ingest(spec, code_set, store=store, progress=progress(spec.name) if progress else None, backend=backend)
        spec, collection, info, retriever = open_all()
    ready = time.perf_counter()
    load_embedder(spec, str(info.metadata.get("backend", "torch")))
    loaded = time.perf_counter()
    texts = [q.text for q in data.queries]
    depth = min(k, len(restrict)) if restrict else k
    if retriever is None:
        hits = dense_search(spec, collection, info, texts, depth, build_where(billable_only), ids=restrict)
    else:
        hits = retriever.search(texts, depth, ids=restrict, billable_only=billable_only)
    searched = time.perf_counter()

    run = {q.qid: [h.code for h in ranked] for q, ranked in zip(data.queries, hits)}
    truth = {q.qid: q.code for q in data.queries}
    exact = metrics.exact_match_flags(run, truth)
    category = metrics.category_match_flags(run, truth)
    predictions = [
        {"qid": q.qid, "query": q.text, "true_code": q.code,
         "predictions": [{"code": h.code, "distance": round(h.distance, 6)} for h in ranked],
         "exact_match": e, "category_match": c}
        for q, ranked, e, c in zip(data.queries, hits, exact, category)
    ]
    return ModelResult(
        model=spec.name,
        kind=spec.kind,
        collection=collection.name,
        dataset=data.name,
        dataset_sha256=data.sha256,
        code_set_version=code_set.version,
        corpus=corpus,
        k=k,
        n_queries=len(data.queries),
        mode=mode_label(pipeline),
        scores=metrics.scores(run, truth),
        ci95={"exact_match": list(metrics.bootstrap_ci(exact)), "category_match": list(metrics.bootstrap_ci(category))},
        timings={"open_or_ingest_s": ready - started, "model_load_s": loaded - ready, "search_s": searched - loaded,
                 "queries_per_s": len(texts) / max(searched - loaded, 1e-9), "total_s": searched - started},
        config={"pipeline": asdict(pipeline), "billable_only": billable_only, "backend": str(info.metadata.get("backend", "torch")), "dataset_path": data.path, "code_column": data.code_column, "text_column": data.text_column,
                "query_prefix": spec.query_prefix, "hub_id": spec.hub_id, "store": store.describe(),
                "collection_metadata": dict(info.metadata)},
        versions=package_versions(),
        unknown_codes=[{"line": line, "code": code} for line, code in data.unknown],
        misses=metrics.miss_kinds(run, truth),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        predictions=predictions,
    )


#: The datasets and splits ``--ablation`` replays: the rebuilt paper benchmark and both shorthand splits.
#: The shorthand set asks for billable codes, as a coder would: it is replayed with billable_only.
ABLATION_DATASETS: tuple[tuple[str, str, str | None, bool], ...] = (
    ("benchmark", "benchmark", None, False),
    ("shorthand tune", "shorthand", "tune", True),
    ("shorthand heldout", "shorthand", "heldout", True),
)
ABLATION_COLUMNS = (("exact_match", "exact %"), ("category_match", "category %"), ("hit_at_10", "hit@10"))


@dataclass(frozen=True)
class AblationRow:
    configuration: str
    dataset: str
    n_queries: int
    scores: dict[str, float]
    seconds: float


def ablation(
    model: str | ModelSpec | None = None,
    *,
    codes: str | CodeSet = "all",
    store: Store | StoreConfig | str | None = None,
    progress: Callable[[str], Progress | None] | None = None,
    backend: str | None = None,
    configurations: Sequence[tuple[str, Pipeline]] = ABLATION,
) -> list[AblationRow]:
    """Exact / category / hit@10 of each configuration (dense, each part alone, all) on each dataset."""
    spec = model if isinstance(model, ModelSpec) else resolve_model(model)
    code_set = resolve_code_set(codes)
    store = as_store(store)
    datasets = [(label, load_dataset(name, code_set=code_set, split=split), billable)
                for label, name, split, billable in ABLATION_DATASETS]
    rows = []
    for configuration, pipeline in configurations:
        for label, data, billable in datasets:
            result = _evaluate_model(spec, data, code_set, store, "full", None, 10, progress, backend, pipeline,
                                     billable)
            rows.append(AblationRow(configuration, label, result.n_queries,
                                    {name: result.scores[name] for name, _ in ABLATION_COLUMNS},
                                    result.timings["search_s"]))
    return rows


def format_ablation(rows: Sequence[AblationRow]) -> str:
    """One line per configuration; per dataset its exact / category / hit@10."""
    datasets = list(dict.fromkeys(r.dataset for r in rows))
    configurations = list(dict.fromkeys(r.configuration for r in rows))
    by = {(r.configuration, r.dataset): r for r in rows}
    header = ["configuration"] + [f"{d} (n={by[(configurations[0], d)].n_queries}) {label}"
                                  for d in datasets for _, label in ABLATION_COLUMNS]
    lines = [header] + [[c] + [f"{by[(c, d)].scores[name]:.1f}" for d in datasets for name, _ in ABLATION_COLUMNS]
                        for c in configurations]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(line, widths)))
                     for line in lines)


def _paired(a: ModelResult, b: ModelResult) -> PairedTest:
    ea, eb = a.flags("exact_match"), b.flags("exact_match")
    only_a, only_b, p = metrics.mcnemar_exact(ea, eb)
    diff, low, high = metrics.paired_bootstrap_diff(ea, eb)
    return PairedTest(a.model, b.model, only_a, only_b, p, diff, (low, high))


# ------------------------------------------------------------------------------------------------ outputs

TABLE_COLUMNS = (
    ("exact_match", "exact %"), ("category_match", "category %"), ("cer_total", "CER total"),
    ("cer_incorrect", "CER incorrect"), ("hit_at_1", "hit@1"), ("hit_at_3", "hit@3"), ("hit_at_5", "hit@5"),
    ("hit_at_10", "hit@10"), ("mrr_at_10", "MRR@10"), ("category_hit_at_10", "cat hit@10"),
)


def comparison_rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """One row per model, then the paper's reference rows; scores rounded to 0.1 point."""
    rows: list[dict[str, Any]] = []
    for r in report.results:
        row: dict[str, Any] = {"model": r.model, "kind": r.kind, "mode": r.mode, "corpus": r.corpus,
                               "queries": r.n_queries}
        row.update({name: round(r.scores[name], 1) for name, _ in TABLE_COLUMNS})
        row["exact_match_ci95"] = "{:.1f}-{:.1f}".format(*r.ci95["exact_match"])
        row["category_match_ci95"] = "{:.1f}-{:.1f}".format(*r.ci95["category_match"])
        rows.append(row)
    for ref in report.references:
        row = {"model": ref["label"], "kind": ref["kind"], "mode": "dense", "corpus": "full", "queries": 1000}
        row.update({name: ref.get(name, "") for name, _ in TABLE_COLUMNS})
        row.update({"exact_match_ci95": "", "category_match_ci95": ""})
        rows.append(row)
    return rows


def format_misses(result: ModelResult) -> str:
    """A Markdown table of :attr:`ModelResult.misses`: per length of the true code, its queries, the right
    answers and each kind of wrong one, in percent of those queries."""
    head = ["true code", "queries", "right", *metrics.MISS_KINDS, "true in top 10"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for length, row in result.misses.items():
        n = row["queries"]
        label = "category (3 characters)" if length == "3" else f"{length} characters"
        cells = [f"{100 * row[name] / n:.1f} %" for name in head[2:]]
        lines.append("| " + " | ".join([label, f"{n:,}", *cells]) + " |")
    return "\n".join(lines)


def format_table(report: EvaluationReport) -> str:
    """The stdout table: one row per model, then reference rows, then paired tests."""
    header = ["model", "kind", "mode", "corpus", "queries", "exact % (95% CI)", "category % (95% CI)",
              *[label for name, label in TABLE_COLUMNS[2:]]]
    lines: list[list[str]] = [header]
    for row in comparison_rows(report):
        def cell(name: str) -> str:
            value = row[name]
            return "-" if value == "" else f"{value:.1f}"

        ci_e = f" ({row['exact_match_ci95']})" if row["exact_match_ci95"] else ""
        ci_c = f" ({row['category_match_ci95']})" if row["category_match_ci95"] else ""
        lines.append([row["model"], row["kind"], row["mode"], row["corpus"], str(row["queries"]), cell("exact_match") + ci_e,
                      cell("category_match") + ci_c, *[cell(name) for name, _ in TABLE_COLUMNS[2:]]])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join("  ".join(c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip()
                     for line in lines)
    for t in report.paired:
        text += (f"\npaired: {t.model_a} vs {t.model_b}: exact match {t.exact_match_diff:+.1f} points "
                 f"(95% CI {t.diff_ci95[0]:+.1f} to {t.diff_ci95[1]:+.1f}), McNemar p = {t.mcnemar_p:.3g} "
                 f"({t.only_a_right} vs {t.only_b_right} discordant)")
    return text


def _file_stem(result: ModelResult) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]+", "-",
                  f"{resolve_model(result.model).slug}.{result.dataset}.{result.corpus}.{result.mode}")


def write_outputs(report: EvaluationReport, out: Path) -> list[Path]:
    """Per model a JSON summary and a JSONL of predictions; a comparison CSV, Markdown table and PNG chart."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for result in report.results:
        stem = _file_stem(result)
        summary = out / f"{stem}.json"
        summary.write_text(json.dumps({**result.summary(), "paired_tests": [asdict(t) for t in report.paired]},
                                      indent=2, default=str) + "\n", encoding="utf-8")
        predictions = out / f"{stem}.predictions.jsonl"
        with predictions.open("w", encoding="utf-8") as fh:
            for p in result.predictions:
                fh.write(json.dumps(p, ensure_ascii=False) + "\n")
        written += [summary, predictions]

    rows = comparison_rows(report)
    fields = list(rows[0])
    csv_path = out / "comparison.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    md_path = out / "comparison.md"
    md = ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
    md += ["| " + " | ".join(str(row[f]) for f in fields) + " |" for row in rows]
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    png_path = out / "comparison.png"
    _plot(report, png_path)
    return [*written, csv_path, md_path, png_path]


def _plot(report: EvaluationReport, path: Path) -> None:
    """Bar chart: exact and category match per model with 95 % intervals; the paper's figures as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{r.model}\n({r.mode}, {r.corpus})" for r in report.results]
    xs = range(len(names))
    fig, ax = plt.subplots(figsize=(max(6.5, 2.2 * len(names) + 2), 5.5))
    for offset, metric, label in ((-0.2, "exact_match", "exact match"), (0.2, "category_match", "category match")):
        values = [r.scores[metric] for r in report.results]
        errors = [[v - r.ci95[metric][0] for v, r in zip(values, report.results)],
                  [r.ci95[metric][1] - v for v, r in zip(values, report.results)]]
        bars = ax.bar([x + offset for x in xs], values, width=0.4, yerr=errors, capsize=4, label=label)
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], label_type="center", fontsize=8, color="white")
    for ref, style in zip(report.references, ("--", ":")):
        ax.axhline(ref["exact_match"], linestyle=style, color="black", linewidth=1,
                   label=f"exact match, {ref['label']}: {ref['exact_match']:.1f} %")
    ax.set_xticks(list(xs), names, fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of queries")
    ax.set_title(f"{report.dataset.name}: {len(report.dataset.queries)} queries, 95 % bootstrap CI", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
