"""Write one generated section of BENCHMARKS.md, between its start and end markers."""

from __future__ import annotations

import re
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def write_section(name: str, heading: str, body: list[str]) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` (added under
    ``heading`` at the end of the file if the markers are missing)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = PATH.read_text(encoding="utf-8") if PATH.exists() else "# Benchmarks\n"
    if start not in text:
        text += f"\n## {heading}\n\n{start}\n{end}\n"
    block = "\n".join([start, "", *body, "", end])
    PATH.write_text(re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S),
                    encoding="utf-8")
