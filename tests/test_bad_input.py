"""Bad input across every command: one clear line, the right exit code, no traceback, the store unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icdsearch import list_collections, search
from icdsearch.cli import main

from .conftest import HASH, free_port


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store with one complete collection (hashing model, a CSV code set) and a folder of bad files."""
    root = tmp_path_factory.mktemp("bad-input")
    codes = root / "codes.csv"
    codes.write_text("code,description\nE11.9,Type 2 diabetes mellitus without complications\n"
                     "I10,Essential (primary) hypertension\nJ45.909,\"Unspecified asthma, uncomplicated\"\n",
                     encoding="utf-8")
    store = root / "store"
    result = CliRunner().invoke(main, ["ingest", "-m", HASH, "--codes", str(codes), "--store", str(store)])
    assert result.exit_code == 0, result.output
    files = {
        "latin1": b"code,query\nI10,caf\xe9\n",
        "blank.txt": b"\n   \n",
        "latin1.txt": "caf\xe9\n".encode("latin-1"),
        "long.txt": ("x" * 10_000 + "\n").encode(),
        "order.txt": b"00001 A00     0 Cholera\nnot an order line\n",
        "badcode.csv": b"code,description\nnot-a-code,Something\n",
        "empty.csv": b"code,description\n",
        "nocols.csv": b"icd,text\nI10,high blood pressure\n",
        "unknown.csv": b"code,query\nZ99.89,machine dependence\n",
        "latin1.csv": b"code,description\nI10,caf\xe9\n",
    }
    for name, content in files.items():
        (root / name).write_bytes(content)
    return {"root": root, "codes": codes, "store": store}


def snapshot(store: Path) -> Any:
    """What a user can observe of the store: its collections, their counts and metadata."""
    return [(i.name, i.count, sorted(i.metadata.items())) for i in list_collections(store=str(store))]


# (arguments with {store}, {codes}, {root} placeholders, exit code, text the output must contain)
CASES: list[tuple[list[str], int, str]] = [
    (["query", ""], 1, "the query is empty"),
    (["query", "   \t "], 1, "the query is empty"),
    (["query", "\x00\x01\x1b"], 1, "the query is empty"),
    (["query", "x" * 10_000], 1, "the query is 10,000 characters long"),
    (["query", "asthma", "-k", "0"], 1, "k must be between 1 and 1000, got 0"),
    (["query", "asthma", "-k", "1000000"], 1, "k must be between 1 and 1000, got 1000000"),
    (["query", "asthma", "-k", "ten"], 2, "'ten' is not a valid integer"),
    (["query", "asthma", "--category", "E11.9"], 1, "three-character category"),
    (["query"], 2, "give a query TEXT"),
    (["query", "asthma", "-f", "{root}/blank.txt"], 2, "not both"),
    (["query", "-f", "{root}/missing.txt"], 2, "No such file or directory"),
    (["query", "-f", "{root}/latin1.txt"], 1, "is not UTF-8 text"),
    (["query", "-f", "{root}/blank.txt"], 1, "holds no queries"),
    (["query", "-f", "{root}/long.txt"], 1, "characters long"),
    (["query", "asthma", "--codes", "{root}/missing.csv"], 1, "code-set file not found"),
    (["query", "asthma", "--model", "nosuchmodel"], 1, "unknown model 'nosuchmodel'"),
    (["query", "asthma", "--model", "all-MiniLM-L6-v2"], 1, "has no collection for code set"),
    (["query", "asthma", "--model", "someorg/not-cached"], 1, "has no collection for code set"),
    (["query", "asthma", "--store", "{root}/no-store-here"], 1, "no icdsearch store at"),
    (["query", "asthma", "--port", "70000"], 1, "Chroma port must be between 1 and 65535"),
    (["query", "asthma", "--host", "127.0.0.1", "--port", "{free_port}"], 1, "cannot open Chroma server"),
    (["ingest", "--codes", "{root}/latin1.csv"], 1, "is not UTF-8 text"),
    (["ingest", "--codes", "{root}/order.txt"], 1, "order.txt:2: not a CMS order-file line"),
    (["ingest", "--codes", "{root}/badcode.csv"], 1, "'not-a-code' is not an ICD-10-CM code"),
    (["ingest", "--codes", "{root}/empty.csv"], 1, "holds no codes"),
    (["ingest", "--codes", "{root}"], 1, "is a directory"),
    (["ingest", "--model", "nosuchmodel"], 1, "unknown model 'nosuchmodel'"),
    (["ingest", "--model", "someorg/not-cached"], 1, "it is not in the hub cache"),
    (["ingest", "--store", "/proc/icdsearch-store"], 1, "cannot write to store /proc/icdsearch-store"),
    (["ingest", "--batch-size", "0"], 2, "0 is not in the range"),
    (["evaluate", "--dataset", "{root}/missing.csv"], 1, "dataset not found"),
    (["evaluate", "--dataset", "{root}/nocols.csv"], 1, "has no column 'code'"),
    (["evaluate", "--dataset", "{root}/latin1"], 1, "is not UTF-8 text"),
    (["evaluate", "--dataset", "{root}/unknown.csv"], 1, "all 1 codes are unknown"),
    (["evaluate", "--corpus", "everything"], 2, "Invalid value for '--corpus'"),
    (["evaluate", "-k", "0"], 1, "k must be between 1"),
    (["collections", "info", "no-such-collection"], 1, "no collection 'no-such-collection'"),
    (["collections", "delete", "no-such-collection", "--yes"], 1, "no collection 'no-such-collection'"),
    (["models", "--nonsense"], 2, "No such option '--nonsense'"),
]

#: Commands that take the test store's model and code set unless the case names its own.
DEFAULTS = {"query": True, "ingest": True, "evaluate": True}


def expand(args: list[str], world: dict[str, Any]) -> list[str]:
    out = [a.format(root=world["root"], free_port=free_port()) if "{" in a else a for a in args]
    if args[0] in DEFAULTS:
        if "--model" not in args and "-m" not in args:
            out += ["-m", HASH]
        if "--codes" not in args:
            out += ["--codes", str(world["codes"])]
    if args[0] != "models" and "--store" not in args and "--host" not in args and "--port" not in args:
        out += ["--store", str(world["store"])]
    return out


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize(("args", "exit_code", "text"), CASES, ids=[" ".join(c[0])[:50] for c in CASES])
def test_bad_input(world: dict[str, Any], args: list[str], exit_code: int, text: str) -> None:
    before = snapshot(world["store"])
    result = CliRunner().invoke(main, expand(args, world))
    assert result.exit_code == exit_code, result.output
    assert text in result.output, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if exit_code == 1:
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert snapshot(world["store"]) == before
    assert search("E11.9", model=HASH, codes=str(world["codes"]), store=str(world["store"]))[0].code == "E11.9"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_query_string_never_tracebacks(world: dict[str, Any], text: str) -> None:
    result = CliRunner().invoke(main, ["query", "-m", HASH, "--codes", str(world["codes"]), "--store",
                                       str(world["store"]), "-k", "2", "--", text])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert result.output.startswith("Error: the query is") and result.output.count("\n") == 1

