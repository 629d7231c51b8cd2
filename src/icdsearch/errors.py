"""Domain errors. Each message is one line a user can act on; the CLI prints it as is."""

from __future__ import annotations


class IcdSearchError(Exception):
    """Base class: anything the CLI turns into a one-line message and exit 1."""


class UnknownModel(IcdSearchError):
    """A model name that is neither in the registry, a hub id nor a local directory."""


class ModelLoadError(IcdSearchError):
    """The model exists by name but its weights could not be loaded here."""


class StoreNotFound(IcdSearchError):
    """No store at the given path (reading never creates one)."""


class StoreError(IcdSearchError):
    """The store (embedded directory or Chroma server) failed or cannot be reached."""


class CollectionNotFound(IcdSearchError):
    """The collection for a (model, code set) pair has not been ingested."""


class IncompleteCollection(IcdSearchError):
    """An ingest was interrupted: the collection holds only part of the code set."""


class ModelMismatch(IcdSearchError):
    """A collection made by another model, dimension or code-set version."""


class BadQuery(IcdSearchError):
    """Empty or blank query text, bad k, bad filter."""


class BadCodeSet(IcdSearchError):
    """A code-set file that cannot be read or parsed."""


class BadDataset(IcdSearchError):
    """An evaluation dataset that cannot be read or lacks the needed columns."""


class StoreLocked(IcdSearchError):
    """Another process is writing to the same embedded store."""


class DamagedCollection(StoreError):
    """A collection whose vector index or write log will not load (a crash mid-write, damaged files)."""
