"""Large rule sets: loading a whole Sigma corpus, with a cache of converted rules.

:func:`load_corpus` loads every rule under a folder (e.g. the SigmaHQ ``rules/``
tree), keeps what converts and reports the rest by reason, with the time it took.

Converting ~3,000 rules with pySigma takes tens of seconds; with ``cache_dir`` each
file's outcome (its rules, or why not) is kept in a small SQLite database there,
keyed by a hash of the file's bytes and of everything conversion depends on (the
pySigma and backend versions and the source of the modules that render rules). A
later load converts only what changed. The cache holds plain JSON, never code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import re
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from siem.sigma import LoadedRule, RuleFailure, load_rules

#: Bumped whenever the cached form of a rule changes.
CACHE_FORMAT = 1
#: Modules whose code decides what a rule converts to.
_CONVERSION_MODULES = ("sigma.py", "fields.py", "logsources.py", "prefilter.py")
_CORRELATION = re.compile(rb"^correlation\s*:", re.MULTILINE)


@dataclass(slots=True)
class CorpusReport:
    """Outcome of loading a corpus: rules kept, failures and timing."""

    rules: list[LoadedRule]
    failures: list[RuleFailure]
    files: int
    seconds: float
    #: files whose outcome came from the cache
    cached: int = 0

    @property
    def by_reason(self) -> Counter[str]:
        return Counter(f.reason for f in self.failures)

    def summary_lines(self) -> list[str]:
        """Human summary: totals, then failures counted by reason."""
        total = len(self.rules) + len(self.failures)
        lines = [
            f"{len(self.rules)}/{total} rules converted from {self.files} files "
            f"in {self.seconds:.2f} s",
        ]
        lines += [
            f"  not converted, {reason}: {count}"
            for reason, count in self.by_reason.most_common()
        ]
        return lines


def load_corpus(
    folder: str | Path,
    *,
    check_sql: bool = True,
    cache_dir: str | Path | None = None,
) -> CorpusReport:
    """Load every ``*.yml`` rule under ``folder``; see :class:`CorpusReport`.

    With ``cache_dir`` (created if missing) unchanged files are not converted
    again. A corpus holding correlation rules is always converted whole, because a
    correlation is resolved against the rules loaded with it.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder of Sigma rules: {root}")
    files = sorted(root.rglob("*.yml"))
    started = time.perf_counter()
    if cache_dir is None:
        loaded = load_rules(files, check_sql=check_sql)
        return CorpusReport(
            rules=loaded.rules,
            failures=loaded.failures,
            files=len(files),
            seconds=time.perf_counter() - started,
        )
    contents = [path.read_bytes() for path in files]
    if any(_CORRELATION.search(content) for content in contents):
        loaded = load_rules(files, check_sql=check_sql)
        return CorpusReport(
            loaded.rules, loaded.failures, len(files), time.perf_counter() - started
        )
    with RuleCache(Path(cache_dir), check_sql=check_sql) as cache:
        keys = [cache.key(content) for content in contents]
        found = cache.get(keys)
        missing = [
            path for path, key in zip(files, keys, strict=True) if key not in found
        ]
        converted = load_rules(missing, check_sql=check_sql) if missing else None
        outcomes: dict[str, FileOutcome] = defaultdict(lambda: ([], []))
        if converted is not None:
            for rule in converted.rules:
                outcomes[rule.path or ""][0].append(rule)
            for failure in converted.failures:
                outcomes[failure.path or ""][1].append(failure)
            cache.put(
                (key, outcomes[str(path)])
                for path, key in zip(files, keys, strict=True)
                if key not in found
            )
    rules: list[LoadedRule] = []
    failures: list[RuleFailure] = []
    for path, key in zip(files, keys, strict=True):
        if key in found:
            file_rules, file_failures = found[key]
            rules += [dataclasses.replace(r, path=str(path)) for r in file_rules]
            failures += [dataclasses.replace(f, path=str(path)) for f in file_failures]
        else:
            file_rules, file_failures = outcomes[str(path)]
            rules += file_rules
            failures += file_failures
    return CorpusReport(
        rules=rules,
        failures=failures,
        files=len(files),
        seconds=time.perf_counter() - started,
        cached=len(found),
    )


# ---------------------------------------------------------------------------
# the cache

#: The rules and the failures of one file.
FileOutcome = tuple[list[LoadedRule], list[RuleFailure]]


class RuleCache:
    """Converted rules by file content, in ``<folder>/rules.sqlite``.

    The key of a file hashes its bytes with a *salt* naming everything conversion
    depends on, so a new pySigma, a new backend or an edited renderer never serves
    a stale fragment. An entry that cannot be read back is treated as missing.
    """

    def __init__(self, folder: Path, *, check_sql: bool = True) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "rules.sqlite"
        self.salt = conversion_salt(check_sql=check_sql)
        self._db = sqlite3.connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS converted "
            "(key TEXT PRIMARY KEY, outcome BLOB NOT NULL)"
        )

    def __enter__(self) -> RuleCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def key(self, content: bytes) -> str:
        """Cache key of a rule file's bytes."""
        return hashlib.sha256(self.salt + content).hexdigest()

    def get(self, keys: list[str]) -> dict[str, FileOutcome]:
        """The cached outcomes among ``keys``."""
        found: dict[str, FileOutcome] = {}
        wanted = set(keys)
        for key, blob in self._db.execute("SELECT key, outcome FROM converted"):
            if key in wanted:
                try:
                    found[key] = _decode(blob)
                except (ValueError, TypeError, KeyError):
                    continue  # written by another version: convert again
        return found

    def put(self, entries: Iterable[tuple[str, FileOutcome]]) -> None:
        """Store outcomes (one transaction)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO converted (key, outcome) VALUES (?, ?)",
                [(key, _encode(outcome)) for key, outcome in entries],
            )


def conversion_salt(*, check_sql: bool = True) -> bytes:
    """Bytes naming the code a converted rule depends on."""
    here = Path(__file__).resolve().parent
    parts = [
        f"format {CACHE_FORMAT}",
        f"check_sql {check_sql}",
        *(
            f"{name} {importlib.metadata.version(name)}"
            for name in ("pySigma", "pySigma-backend-sqlite")
        ),
    ]
    digest = hashlib.sha256("\n".join(parts).encode())
    for module in _CONVERSION_MODULES:
        digest.update((here / module).read_bytes())
    return digest.digest()


def _encode(outcome: FileOutcome) -> bytes:
    rules, failures = outcome
    return orjson.dumps(
        {
            "rules": [_without_path(dataclasses.asdict(r)) for r in rules],
            "failures": [_without_path(dataclasses.asdict(f)) for f in failures],
        }
    )


def _without_path(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "path": None}


def _decode(blob: bytes) -> FileOutcome:
    data = orjson.loads(blob)
    # correlation rules are never cached (see load_corpus)
    rules = [
        LoadedRule(**{k: _tuples(v) for k, v in record.items()})
        for record in data["rules"]
        if record.get("correlation") is None
    ]
    failures = [RuleFailure(**record) for record in data["failures"]]
    return rules, failures


def _tuples(value: Any) -> Any:
    """JSON arrays back to the tuples a :class:`LoadedRule` holds."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value
