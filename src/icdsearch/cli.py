"""The ``icdsearch`` command: a thin click layer over the library. Each command parses, calls, prints."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

from .errors import BadQuery, IcdSearchError


class _Cli(click.Group):
    """Turns every domain error into ``Error: <one line>`` and exit 1; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IcdSearchError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("ICDSEARCH_DEBUG"):
                raise
            text = " ".join(str(exc).split())[:300]
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {text} (set ICDSEARCH_DEBUG=1 to see the traceback)"
            ) from None


def store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--store / --host / --port, shared by every command that touches the store."""
    func = click.option("--port", type=int, default=None,
                        help="Chroma server port (env ICDSEARCH_CHROMA_PORT; default 8000 with --host).")(func)
    func = click.option("--host", default=None,
                        help="Use the Chroma server at this host instead of a local store (env ICDSEARCH_CHROMA_HOST).")(func)
    func = click.option("--store", "store_path", type=click.Path(file_okay=False), default=None,
                        help="Local store directory (env ICDSEARCH_STORE; default ~/.local/share/icdsearch/store).")(func)
    return func


def codes_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--codes", default="all", show_default=True, metavar="all|billable|FILE",
                        help="Code set: all FY2026 codes, the billable ones, or a CMS order file / code,description CSV.")(func)


def backend_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--backend", type=click.Choice(["onnx", "onnx-int8", "torch"]), default=None,
                        help="How a new collection is embedded: ONNX Runtime in fp32 (exported once from the "
                             "model), its int8 quantization (default), or torch (env ICDSEARCH_BACKEND).")(func)


def _store(store_path: str | None, host: str | None, port: int | None) -> Any:
    from .collections import StoreConfig, open_store

    return open_store(StoreConfig.resolve(path=store_path, host=host, port=port))


@click.group(cls=_Cli)
@click.version_option(package_name="icdsearch")
def main() -> None:
    """Find ICD-10-CM codes from the words people write (semantic search over ChromaDB)."""
    import warnings

    # icdsearch's own warnings (an unreadable embedding cache, ...) as one line, not a source listing.
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"


# -------------------------------------------------------------------------------------------------- ingest


class _Progress:
    """A stderr progress bar with rate and ETA, made on the first call."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.shown = 0
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_eta=True,
                                         show_pos=True, item_show_func=lambda item: item)
            self.bar.__enter__()
            self.started = time.perf_counter()
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(done - self.shown, f"{rate:,.0f} codes/s")
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@main.command()
@click.option("-m", "--model", "models", multiple=True,
              help="Model name, hub id or local directory; repeat for several (default all-MiniLM-L6-v2).")
@codes_option
@click.option("--rebuild", is_flag=True, help="Drop the collection and embed everything again.")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=32, show_default=True,
              help="Texts per embedding batch.")
@click.option("--chunk-size", type=click.IntRange(1, 100_000), default=2048, show_default=True,
              help="Codes embedded and written per step (an interrupted ingest keeps every finished step).")
@backend_option
@store_options
def ingest(models: Sequence[str], codes: str, rebuild: bool, batch_size: int, chunk_size: int, backend: str | None,
           store_path: str | None, host: str | None, port: int | None) -> None:
    """Embed the code descriptions into one collection per model (idempotent, resumable)."""
    from .ingest import ingest as run_ingest

    store = _store(store_path, host, port)
    for model in models or (None,):
        progress = _Progress(f"Embedding with {model or 'all-MiniLM-L6-v2'}")
        try:
            report = run_ingest(model, codes, store=store, rebuild=rebuild, batch_size=batch_size,
                                chunk_size=chunk_size, progress=progress, backend=backend)
        except KeyboardInterrupt:
            progress.close()
            raise click.ClickException(
                "interrupted: what was written is kept; run the same ingest again to resume"
            ) from None
        progress.close()
        if report.repaired:
            click.echo(f"{report.collection}: was damaged (a crash in the middle of a write?), so it was "
                       "rebuilt from scratch", err=True)
        if report.embedded == 0:
            click.echo(f"{report.collection}: already complete ({report.total:,} codes, {report.synonyms:,} synonyms), "
                       "nothing to embed")
        else:
            how = "resumed, " if report.resumed else ""
            reused = f" ({report.cached:,} vectors reused from the embedding cache)" if report.cached else ""
            click.echo(f"{report.collection}: {how}embedded {report.embedded:,} of {report.total:,} codes "
                       f"and their {report.synonyms:,} synonyms in {report.seconds:.1f} s{reused}")
        if report.lexical_built:
            click.echo(f"{report.collection}: built the lexical index")


# -------------------------------------------------------------------------------------------------- query


def _read_queries(source: Any) -> list[str]:
    raw = source.read()
    name = getattr(source, "name", "input")
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise BadQuery(f"{name} is not UTF-8 text") from None
    queries = [line.strip() for line in text.splitlines() if line.strip()]
    if not queries:
        raise BadQuery(f"{'standard input' if name == '<stdin>' else name} holds no queries (one per line)")
    return queries


def _hit_table(hits: Sequence[Any]) -> str:
    if not hits:
        return "(no codes match)"
    width = max(11, *(len(h.description) for h in hits))
    matched = any(h.matched for h in hits)
    lines = [f"{'rank':>4}  {'code':<8}  {'description':<{width}}  {'distance':>8}" + ("  matched synonym" if matched else "")]
    lines += [f"{h.rank:>4}  {h.code:<8}  {h.description:<{width}}  {h.distance:>8.4f}"
              + (f"  {h.matched}" if h.matched else "") for h in hits]
    return "\n".join(line.rstrip() for line in lines)


def mode_option(func: Any) -> Any:
    func = click.option("--without", "without", multiple=True,
                        type=click.Choice(["synonyms", "lexical", "abbreviations", "steering"]),
                        help="Switch one part of hybrid retrieval off (repeatable).")(func)
    return click.option("--mode", type=click.Choice(["hybrid", "dense"]), default="hybrid", show_default=True,
                        help="hybrid: synonyms, BM25 fusion, abbreviations, laterality/encounter steering; "
                             "dense: the paper's setup (nearest description).")(func)


def _pipeline(mode: str, without: Sequence[str]) -> Any:
    from .query import resolve_mode

    return resolve_mode(mode, without)


@main.command()
@click.argument("text", required=False)
@click.option("-f", "--file", "source", type=click.File("rb"), default=None,
              help="Read queries from a file, one per line ('-' for standard input).")
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of codes to return per query.")
@click.option("-m", "--model", default=None, help="Model whose collection to search (default all-MiniLM-L6-v2).")
@codes_option
@click.option("--billable-only", is_flag=True,
              help="Only billable codes; in hybrid mode a header that ranks hands its place to its best-fitting "
                   "billable code.")
@click.option("--category", default=None, metavar="CAT", help="Only codes in this three-character category, e.g. E11.")
@mode_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit per line.")
@click.option("--explain", is_flag=True,
              help="Also show how each query was read: abbreviations expanded, spelling corrected, a collision "
                   "or a hip fracture in ICD-10-CM's words (\"read as\", or \"read_as\" with --json).")
@store_options
def query(text: str | None, source: Any, k: int, model: str | None, codes: str, billable_only: bool,
          category: str | None, mode: str, without: Sequence[str], as_json: bool, explain: bool, store_path: str | None,
          host: str | None, port: int | None) -> None:
    """Search for the codes that best match TEXT (or each line of --file)."""
    from .query import Searcher, search_many

    if (text is None) == (source is None):
        raise click.UsageError("give either a query TEXT or --file, not both" if text is not None
                               else 'give a query TEXT, e.g. icdsearch query "high blood pressure", or --file')
    queries = [text] if text is not None else _read_queries(source)
    store, pipeline = _store(store_path, host, port), _pipeline(mode, without)
    results = search_many(queries, k, model=model, codes=codes, store=store, billable_only=billable_only,
                          category=category, mode=pipeline)
    readings: list[str | None] = [None] * len(queries)
    if explain:
        searcher = Searcher(model, codes, store, pipeline)
        readings = [searcher.read(q) for q in queries]
    for i, (q, hits) in enumerate(zip(queries, results)):
        if as_json:
            for hit in hits:
                extra = {"read_as": readings[i]} if explain else {}
                click.echo(json.dumps({"query": q, **extra, **hit.to_dict()}, ensure_ascii=False))
            continue
        if len(queries) > 1:
            click.echo(f"{'' if i == 0 else chr(10)}# {q}")
        if explain:
            click.echo(f"read as: {readings[i]}")
        click.echo(_hit_table(hits))


# -------------------------------------------------------------------------------------------------- evaluate


@main.command()
@click.option("-m", "--model", "models", multiple=True,
              help="Model to evaluate; repeat to compare several (default all-MiniLM-L6-v2).")
@click.option("--dataset", type=click.Path(dir_okay=False), default=None,
              help="benchmark (default: the rebuilt 2401.01943 benchmark, 1,000 rephrasings), shorthand "
                   "(clinicians' and patients' short queries), paraphrase-dev (160 rephrasings of 80 other "
                   "codes, for trying changes), or a CSV of codes and texts.")
@click.option("--split", type=click.Choice(["tune", "heldout"]), default=None,
              help="Only the rows of this split (the shorthand dataset has both).")
@mode_option
@click.option("--billable-only", is_flag=True, help="Answer billable codes only (as `query --billable-only`).")
@click.option("--ablation", is_flag=True,
              help="Exact / category / hit@10 on the benchmark and both shorthand splits, for dense, each part "
                   "of hybrid alone, and all together (ignores --dataset, --mode, --corpus, --out).")
@click.option("--code-column", default="code", show_default=True, help="Column holding the true code.")
@click.option("--text-column", default=None, help="Column holding the query text (default: rephrasing or query).")
@click.option("--corpus", type=click.Choice(["full", "benchmark"]), default="full", show_default=True,
              help="Search all codes (the paper's setup) or only the dataset's codes (a sanity check).")
@click.option("-k", "k", type=int, default=10, show_default=True, help="Codes retrieved per query (for hit@k, MRR).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write JSON summaries, JSONL predictions, comparison CSV/Markdown and a PNG chart here.")
@codes_option
@backend_option
@store_options
def evaluate(models: Sequence[str], dataset: str | None, split: str | None, mode: str, without: Sequence[str],
             billable_only: bool, ablation: bool, code_column: str, text_column: str | None, corpus: str, k: int, out: str | None,
             codes: str, backend: str | None, store_path: str | None, host: str | None, port: int | None) -> None:
    """Replay a benchmark against each model and report the paper's metrics and more."""
    from .evaluate import ablation as run_ablation
    from .evaluate import evaluate as run_evaluate
    from .evaluate import format_ablation, format_table

    bars: list[_Progress] = []

    def progress(model: str) -> _Progress:
        bars.append(_Progress(f"Ingesting first: {model}"))
        return bars[-1]

    store = _store(store_path, host, port)
    try:
        if ablation:
            for model in models or (None,):
                rows = run_ablation(model, codes=codes, store=store, progress=progress, backend=backend)
                click.echo(f"# {model or 'all-MiniLM-L6-v2'}: ablation (shorthand replayed with --billable-only)")
                click.echo(format_ablation(rows))
            return
        report = run_evaluate(list(models) or None, dataset, code_column=code_column, text_column=text_column,
                              corpus=corpus, k=k, codes=codes, store=store, out=out, progress=progress,
                              backend=backend, mode=_pipeline(mode, without), split=split,
                              billable_only=billable_only)
    finally:
        for bar in bars:
            bar.close()
    if report.dataset.unknown:
        shown = ", ".join(f"line {line}: {code!r}" for line, code in report.dataset.unknown[:5])
        more = f" and {len(report.dataset.unknown) - 5} more" if len(report.dataset.unknown) > 5 else ""
        click.echo(f"warning: {len(report.dataset.unknown)} rows have codes not in the code set and were not "
                   f"scored ({shown}{more})", err=True)
    click.echo(format_table(report))
    if out:
        click.echo(f"\nwrote per-model JSON and JSONL, comparison.csv, comparison.md and comparison.png to {out}")


# -------------------------------------------------------------------------------------------------- collections


@main.group(cls=_Cli, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="With no subcommand: list as JSON.")
@store_options
@click.pass_context
def collections(ctx: click.Context, as_json: bool, store_path: str | None, host: str | None, port: int | None) -> None:
    """List, inspect and delete the collections in a store (list is the default).

    Store options given here apply to the subcommand too: `icdsearch collections --store DIR info NAME`.
    """
    ctx.obj = {"store_path": store_path, "host": host, "port": port}
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command, as_json=as_json)


def _collections_store(store_path: str | None, host: str | None, port: int | None) -> Any:
    outer = click.get_current_context().find_object(dict) or {}
    return _store(store_path or outer.get("store_path"), host or outer.get("host"), port or outer.get("port"))


@collections.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of objects (name, model, count, ...).")
@store_options
def list_command(as_json: bool = False, store_path: str | None = None, host: str | None = None,
                 port: int | None = None) -> None:
    """Every collection: name, model, code set, count, complete."""
    infos = _collections_store(store_path, host, port).list()
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    if not infos:
        click.echo("no collections: run `icdsearch ingest`")
        return
    rows = [(i.name, i.model, i.code_set_version, f"{i.count:,}", "yes" if i.complete else "NO") for i in infos]
    header = ("name", "model", "code set", "codes", "complete")
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(f"{cell:<{w}}" if c < 3 else f"{cell:>{w}}" for c, (cell, w) in enumerate(zip(row, widths))))


@collections.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
@store_options
def info_command(name: str, as_json: bool, store_path: str | None, host: str | None, port: int | None) -> None:
    """A collection's count and the metadata recorded at ingest."""
    info = _collections_store(store_path, host, port).info(name)
    if as_json:
        click.echo(json.dumps(info.to_dict(), indent=2))
        return
    click.echo(f"name: {info.name}\ncount: {info.count:,}")
    for key in sorted(info.metadata):
        click.echo(f"{key}: {info.metadata[key]}")


@collections.command("delete")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@store_options
def delete_command(name: str, yes: bool, store_path: str | None, host: str | None, port: int | None) -> None:
    """Delete a collection (it can be rebuilt with `icdsearch ingest`)."""
    store = _collections_store(store_path, host, port)
    store.open(name)  # a clear error before asking, if it is not there
    if not yes:
        click.confirm(f"Delete collection {name} from {store.describe()}?", abort=True)
    store.delete(name)
    click.echo(f"deleted {name}")


# -------------------------------------------------------------------------------------------------- models


@main.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON list of objects.")
def models(as_json: bool) -> None:
    """The named models, their kind and prefixes, and which load offline here."""
    from .models import REGISTRY, availability

    rows = [{"name": s.name, "kind": s.kind, "dimension": s.dimension, "hub_id": s.hub_id,
             "query_prefix": s.query_prefix, "document_prefix": s.document_prefix,
             "available": availability(s), "note": s.note} for s in REGISTRY.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    header = {"name": "name", "kind": "kind", "dimension": "dim", "available": "available here", "hub_id": "hub id"}
    keys = list(header)
    widths = {key: max(len(str(r[key])) for r in [header, *rows]) for key in keys}
    for row in [header, *rows]:
        click.echo("  ".join(f"{str(row[key]):<{widths[key]}}" for key in keys).rstrip())
    click.echo("\nAny sentence-transformers hub id (org/name) or local model directory also works with -m.")
