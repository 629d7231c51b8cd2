"""Reading files users hand us (code sets, datasets): one place for the one-line errors."""

from __future__ import annotations

from pathlib import Path

from .errors import IcdSearchError


def read_user_text(path: Path, what: str, error: type[IcdSearchError]) -> tuple[bytes, str]:
    """The file's bytes and its UTF-8 text (a BOM is dropped); ``error("<what> ...")`` when it cannot be."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{what} path is a directory, not a file: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return raw, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def read_pairs(path: Path) -> tuple[tuple[str, str], ...]:
    """The lower-case two-column rows of one of the project's own data files (a header line first; lines
    starting with # are comments): data/word_forms.csv, data/inflammations.csv."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip() and not line.startswith("#"):
            first, second = (w.strip().lower() for w in line.split(","))
            rows.append((first, second))
    return tuple(rows)
