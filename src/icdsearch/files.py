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
