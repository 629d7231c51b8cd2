"""The click layer: output formats, exit codes and one-line errors (CliRunner, hashing embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from icdsearch.cli import main
from icdsearch.codeset import CodeSet

from .conftest import HASH

CSV_LINES = [
    "code,description",
    "E11,Type 2 diabetes mellitus",
    "E11.9,Type 2 diabetes mellitus without complications",
    "E11.65,Type 2 diabetes mellitus with hyperglycemia",
    "I10,Essential (primary) hypertension",
    '"J45.909","Unspecified asthma, uncomplicated"',
    "S93.401A,Sprain of unspecified ligament of right ankle, initial encounter",
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def codes_csv(tmp_path: Path) -> Path:
    path = tmp_path / "codes.csv"
    path.write_text("\n".join(CSV_LINES) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ingested(runner: CliRunner, codes_csv: Path, store_dir: Path) -> list[str]:
    """Common arguments for a store with the CSV code set ingested by the hashing model."""
    args = ["-m", HASH, "--codes", str(codes_csv), "--store", str(store_dir)]
    result = runner.invoke(main, ["ingest", *args])
    assert result.exit_code == 0, result.output
    return args


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
    return found


def test_every_command_has_help(runner: CliRunner) -> None:
    commands = all_commands(main)
    assert {" ".join(path) for path, _ in commands} >= {
        "ingest", "query", "models", "collections", "collections list", "collections info", "collections delete"}
    for path, command in commands:
        assert command.help, f"{' '.join(path)} has no help text"
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_ingest_output_and_idempotence(runner: CliRunner, codes_csv: Path, store_dir: Path) -> None:
    args = ["ingest", "-m", HASH, "--codes", str(codes_csv), "--store", str(store_dir)]
    first = runner.invoke(main, args)
    assert first.exit_code == 0
    assert "embedded 6 of 6 codes" in first.stdout and "hash-bow-256--codes-" in first.stdout
    second = runner.invoke(main, args)
    assert second.exit_code == 0 and "already complete (6 codes, 6 synonyms), nothing to embed" in second.stdout
    third = runner.invoke(main, [*args, "--rebuild"])
    assert third.exit_code == 0 and "embedded 6 of 6 codes" in third.stdout


def test_query_table(runner: CliRunner, ingested: list[str]) -> None:
    result = runner.invoke(main, ["query", "type 2 diabetes mellitus without complications", "-k", "3", *ingested])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == ["rank", "code", "description", "distance"]
    assert lines[1].split()[:2] == ["1", "E11.9"] and lines[1].endswith("0.0000")
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]


def test_query_json_lines(runner: CliRunner, ingested: list[str]) -> None:
    result = runner.invoke(main, ["query", "e119", "-k", "2", "--json", *ingested])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    assert rows[0] == {"query": "e119", "rank": 1, "code": "E11.9",
                       "description": "Type 2 diabetes mellitus without complications", "distance": 0.0,
                       "category": "E11", "chapter": 4, "billable": True, "matched": ""}
    assert rows[1]["rank"] == 2 and rows[1]["code"] != "E11.9"


def test_query_filters(runner: CliRunner, ingested: list[str]) -> None:
    result = runner.invoke(main, ["query", "diabetes", "-k", "10", "--json", "--category", "E11", "--billable-only", *ingested])
    assert result.exit_code == 0
    assert sorted(json.loads(line)["code"] for line in result.stdout.splitlines()) == ["E11.65", "E11.9"]


def test_query_file_and_stdin(runner: CliRunner, ingested: list[str], tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("asthma uncomplicated\n\nI10\n", encoding="utf-8")
    from_file = runner.invoke(main, ["query", "-f", str(queries), "-k", "1", *ingested])
    assert from_file.exit_code == 0
    assert from_file.stdout.splitlines()[0] == "# asthma uncomplicated"
    assert "# I10" in from_file.stdout and from_file.stdout.count("rank  code") == 2
    from_stdin = runner.invoke(main, ["query", "-f", "-", "-k", "1", *ingested], input="asthma uncomplicated\nI10\n")
    assert from_stdin.exit_code == 0 and from_stdin.stdout == from_file.stdout
    as_json = runner.invoke(main, ["query", "-f", str(queries), "-k", "1", "--json", *ingested])
    assert [json.loads(x)["code"] for x in as_json.stdout.splitlines()] == ["J45.909", "I10"]


def assert_one_line_error(result, exit_code: int, text: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert text in result.output
    if exit_code == 1:
        assert result.output.strip().count("\n") == 0, result.output


@pytest.mark.parametrize(
    ("extra", "code", "text"),
    [
        (["query", ""], 1, "Error: the query is empty"),
        (["query", "   "], 1, "Error: the query is empty"),
        (["query", "asthma", "-k", "0"], 1, "Error: k must be between 1 and 1000, got 0"),
        (["query", "asthma", "-k", "-3"], 1, "Error: k must be between 1 and 1000"),
        (["query", "asthma", "--category", "diabetes"], 1, "three-character category"),
        (["query", "asthma", "-m", "nosuchmodel"], 1, "Error: unknown model 'nosuchmodel'"),
        (["query", "asthma", "-m", "all-MiniLM-L6-v2"], 1, "run `icdsearch ingest -m all-MiniLM-L6-v2 --codes"),
        (["query"], 2, "give a query TEXT"),
        (["query", "asthma", "-f", "-"], 2, "not both"),
        (["query", "-f", "/nonexistent/queries.txt"], 2, "No such file or directory"),
    ],
)
def test_query_errors(runner: CliRunner, ingested: list[str], extra: list[str], code: int, text: str) -> None:
    common = ingested[2:] if "-m" in extra else ingested  # the case's own -m replaces the hashing model
    assert_one_line_error(runner.invoke(main, [*extra, *common]), code, text)


def test_query_file_errors(runner: CliRunner, ingested: list[str], tmp_path: Path) -> None:
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n", encoding="utf-8")
    assert_one_line_error(runner.invoke(main, ["query", "-f", str(blank), *ingested]), 1, "holds no queries")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    assert_one_line_error(runner.invoke(main, ["query", "-f", str(latin), *ingested]), 1, "is not UTF-8 text")


def test_missing_store_errors(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for args in (["query", "asthma"], ["collections"], ["collections", "list"], ["collections", "info", "x"]):
        result = runner.invoke(main, [*args, "--store", str(missing)])
        assert_one_line_error(result, 1, f"Error: no icdsearch store at {missing}: run `icdsearch ingest` first")
    assert not missing.exists()


def test_ingest_errors(runner: CliRunner, tmp_path: Path, store_dir: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,description\nnot-a-code,x\n", encoding="utf-8")
    assert_one_line_error(runner.invoke(main, ["ingest", "-m", HASH, "--codes", str(bad), "--store", str(store_dir)]),
                          1, "bad.csv:2: 'not-a-code' is not an ICD-10-CM code")
    assert_one_line_error(runner.invoke(main, ["ingest", "-m", "nosuchmodel", "--store", str(store_dir)]),
                          1, "unknown model 'nosuchmodel'")
    assert_one_line_error(runner.invoke(main, ["ingest", "-m", HASH, "--codes", str(tmp_path / "nope.csv")]),
                          1, "code-set file not found")
    assert not store_dir.exists()  # nothing was created for input that failed before any write


def test_collections_commands(runner: CliRunner, ingested: list[str], store_dir: Path) -> None:
    store = ["--store", str(store_dir)]
    listing = runner.invoke(main, ["collections", *store])
    assert listing.exit_code == 0
    header, row = listing.stdout.splitlines()
    assert header.split() == ["name", "model", "code", "set", "codes", "complete"]
    name = row.split()[0]
    assert name.startswith("hash-bow-256--codes-") and row.split()[1] == HASH and row.split()[-2:] == ["6", "yes"]
    as_json = json.loads(runner.invoke(main, ["collections", "list", "--json", *store]).stdout)
    assert as_json[0]["name"] == name and as_json[0]["model"] == HASH and as_json[0]["count"] == 6
    assert json.loads(runner.invoke(main, ["collections", "--json", *store]).stdout) == as_json

    info = runner.invoke(main, ["collections", "info", name, *store])
    assert info.exit_code == 0 and f"name: {name}" in info.stdout and "count: 6" in info.stdout
    assert "model: hash-bow-256" in info.stdout and "dimension: 256" in info.stdout
    info_json = json.loads(runner.invoke(main, ["collections", *store, "info", name, "--json"]).stdout)
    assert info_json["metadata"]["code_count"] == 6

    assert_one_line_error(runner.invoke(main, ["collections", "info", "nope", *store]), 1, "no collection 'nope'")
    refused = runner.invoke(main, ["collections", "delete", name, *store], input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert json.loads(runner.invoke(main, ["collections", "list", "--json", *store]).stdout)[0]["name"] == name
    deleted = runner.invoke(main, ["collections", "delete", name, "--yes", *store])
    assert deleted.exit_code == 0 and deleted.stdout.strip() == f"deleted {name}"
    assert runner.invoke(main, ["collections", *store]).stdout.strip() == "no collections: run `icdsearch ingest`"


def test_models_command(runner: CliRunner) -> None:
    result = runner.invoke(main, ["models"])
    assert result.exit_code == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith("all-MiniLM-L6-v2 "))
    assert "bundled (offline)" in line
    rows = json.loads(runner.invoke(main, ["models", "--json"]).stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["e5-small-v2"]["query_prefix"] == "query: " and by_name["ClinicalBERT"]["kind"] == "clinical"


def test_hash_code_set_roundtrip(small_codes: CodeSet) -> None:
    # The CSV in this module is a real FY2026 subset: every description matches the bundled release.
    from icdsearch.codeset import default_code_set

    full = default_code_set()
    for line in CSV_LINES[1:]:
        code, description = [x.strip('"') for x in line.split(",", 1)]
        assert full.get(code).description == description.replace('","', "")


def test_query_explain_shows_how_the_query_was_read(runner: CliRunner, ingested: list[str]) -> None:
    table = runner.invoke(main, ["query", "T2DM w/o complications", "-k", "1", "--explain", *ingested])
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0] == "read as: type 2 diabetes mellitus without complications"
    assert "E11.9" in table.output
    lines = runner.invoke(main, ["query", "T2DM w/o complications", "-k", "2", "--explain", "--json", *ingested])
    rows = [json.loads(line) for line in lines.output.splitlines()]
    assert len(rows) == 2 and {r["read_as"] for r in rows} == {"type 2 diabetes mellitus without complications"}
    dense = runner.invoke(main, ["query", "T2DM w/o complications", "-k", "1", "--explain", "--mode", "dense", *ingested])
    assert dense.output.splitlines()[0] == "read as: T2DM w/o complications"  # the paper's setup reads it as written
    code = runner.invoke(main, ["query", "e119", "-k", "1", "--explain", *ingested])
    assert code.output.splitlines()[0] == "read as: e119"  # a code is looked up as it is
    plain = runner.invoke(main, ["query", "T2DM w/o complications", "-k", "1", *ingested])
    assert "read as" not in plain.output


def test_query_modes_and_matched_synonym(runner: CliRunner, ingested: list[str]) -> None:
    hybrid = runner.invoke(main, ["query", "high blood pressure", "-k", "3", *ingested])
    assert hybrid.exit_code == 0
    header, first = hybrid.stdout.splitlines()[:2]
    assert header.endswith("matched synonym") and first.split()[1] == "I10" and first.endswith("high blood pressure")
    dense = runner.invoke(main, ["query", "high blood pressure", "-k", "3", "--mode", "dense", "--json", *ingested])
    assert dense.exit_code == 0 and all(json.loads(line)["matched"] == "" for line in dense.stdout.splitlines())
    without = runner.invoke(main, ["query", "high blood pressure", "-k", "3", "--without", "synonyms", "--json", *ingested])
    assert without.exit_code == 0 and all(json.loads(line)["matched"] == "" for line in without.stdout.splitlines())
    bad = runner.invoke(main, ["query", "asthma", "--mode", "sparse", *ingested])
    assert bad.exit_code == 2 and "Invalid value for '--mode'" in bad.output
