"""Archive-scale ingest: many bulletin files parsed in a process pool, stored one by one.

``python -m geo ingest DIR_OR_FILES… --jobs N`` goes through here:

* :func:`bulletin_files` expands folders (recursively: ``.txt``, ``.pdf``, ``.docx``, in name
  order) and keeps the files given;
* :func:`ingest_files` reads and parses them in ``N`` worker processes (a standard
  ``ProcessPoolExecutor``; the workers start from a fork server that has the pipeline loaded)
  and stores each bulletin in its own transaction in this process, in the files' order;
* a run that was killed is simply run again: a file whose text is already stored under the same
  county is recognised from its hash before it is parsed, so the rerun skips the finished part
  quickly and stores nothing twice (bulletins are keyed by that hash anyway).

The store is opened before the first file when it already exists (a server store always: an
unreachable server is one error before any work), else at the first bulletin that parses, so a
run where every file fails leaves no empty store file.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo import paths
from geo.errors import GeoInputError
from geo.gazetteer import detect_gazetteer, load_gazetteer
from geo.io.bulletin_files import FileDate, read_bulletin_file
from geo.models import Bulletin
from geo.normalise import normalise_text
from geo.pipeline import check_date, date_bulletin, parse_text
from geo.prefecture import find_area, is_prefecture_code, load_prefecture, parse_prefecture_text
from geo.store import Store

__all__ = [
    "BULLETIN_SUFFIXES",
    "FileOutcome",
    "IngestSummary",
    "bulletin_files",
    "default_jobs",
    "ingest_files",
    "parse_one",
]

#: What a folder is searched for.
BULLETIN_SUFFIXES = (".txt", ".pdf", ".docx")
_MAX_JOBS = 64
_IN_FLIGHT_PER_JOB = 4  # parsed bulletins waiting for the store stay few: memory is bounded


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file.

    Attributes
    ----------
    path : str
    status : {"created", "unchanged", "failed"}
    bulletin_id : str or None
    n_items : int
    error : str or None
        One line, for ``failed``.
    code : str or None
        The error's code (:mod:`geo.errors`), for ``failed``.
    warnings : tuple of str
        What the splitter warns about a newly stored bulletin (its layout, numbering…).
    date : str or None
        The bulletin's date (ISO), for ``created``.
    n_repeats : int
        Items repeating a story already stored (counted once), for ``created``.
    """

    path: str
    status: str
    bulletin_id: str | None = None
    n_items: int = 0
    error: str | None = None
    code: str | None = None
    warnings: tuple[str, ...] = ()
    date: str | None = None
    n_repeats: int = 0


@dataclass
class IngestSummary:
    """Counts and speed of a run."""

    created: int = 0
    unchanged: int = 0
    failed: int = 0
    n_items: int = 0
    seconds: float = 0.0
    jobs: int = 1
    location: str = ""

    def add(self, outcome: FileOutcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        if outcome.status == "created":
            self.n_items += outcome.n_items

    @property
    def items_per_s(self) -> float:
        return self.n_items / self.seconds if self.seconds > 0 else 0.0

    def to_text(self) -> str:
        """One Chinese line for the end of the run."""
        where = f"数据库 {self.location}" if self.location else "未写入数据库"
        return (
            f"完成：新增 {self.created} 份，已存在 {self.unchanged} 份，失败 {self.failed} 份；"
            f"新增事项 {self.n_items} 条，用时 {self.seconds:.1f} 秒"
            f"（{self.items_per_s:.0f} 条/秒，{self.jobs} 个进程）；{where}"
        )


def bulletin_files(paths: Sequence[str]) -> tuple[list[str], list[FileOutcome]]:
    """The files to ingest: folders searched recursively, files kept as given.

    Parameters
    ----------
    paths : sequence of str
        Files, folders, or ``-`` (standard input).

    Returns
    -------
    (list of str, list of FileOutcome)
        The files in order (each once), and a ``failed`` outcome per path that does not exist.
    """
    files: list[str] = []
    missing: list[FileOutcome] = []
    for given in paths:
        path = Path(given)
        if given == "-" or path.is_file():
            files.append(given)
        elif path.is_dir():
            found = (
                p
                for p in path.rglob("*")
                if p.suffix.lower() in BULLETIN_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            files += sorted(str(p) for p in found)
        else:
            missing.append(
                FileOutcome(given, "failed", error=f"{given}: 文件不存在", code="bulletin.missing")
            )
    return list(dict.fromkeys(files)), missing


# --------------------------------------------------------------------------- the workers

# Set once per worker by _init_worker: {bulletin id: county code} already in the store.
_KNOWN: dict[str, str | None] = {}


def _init_worker(known: dict[str, str | None], county: str | None) -> None:
    global _KNOWN
    _KNOWN = known
    if county and not is_prefecture_code(county):  # warm the gazetteer once per worker
        load_gazetteer(county)


def _expected_county(county: str | None, text: str) -> str | None:
    """The county code a file's bulletin would be stored under (None for a prefecture's)."""
    if county:
        return None if is_prefecture_code(county) else county
    gaz = detect_gazetteer(text)
    return gaz.county_code if gaz else None


def _failed(path: str, err: BaseException) -> FileOutcome:
    msg = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, OSError) and not isinstance(err, GeoInputError) and err.strerror:
        msg = err.strerror
    return FileOutcome(
        path,
        "failed",
        error=msg if path in msg else f"{path}: {msg}",
        code=getattr(err, "code", None),
    )


def _read(path: str) -> tuple[str, str, FileDate | None]:
    if path == "-":
        # the stream itself: read_bulletin reads at most its size cap, never all of stdin
        return *read_bulletin_file(sys.stdin.buffer, "<stdin>"), "<stdin>"
    raw, file_date = read_bulletin_file(Path(path))
    return raw, Path(path).name, file_date


def parse_one(
    path: str, county: str | None, single: bool, date: str | None = None
) -> Bulletin | FileOutcome:
    """Read and parse one file; an ``unchanged`` outcome, without parsing, when its text is
    already stored under the same county; a ``failed`` outcome for bad input and for a
    bulletin without a date (none in its masthead, none given as ``date`` — ISO, checked by
    :func:`geo.pipeline.check_date` —, none in the file's properties)."""
    try:
        raw, name, file_date = _read(path)
        if _KNOWN:
            text = normalise_text(raw)
            sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if sha in _KNOWN and _KNOWN[sha] == _expected_county(county, text):
                return FileOutcome(path, "unchanged", sha)
        if is_prefecture_code(county):
            area = load_prefecture(county)
            bulletin = parse_prefecture_text(raw, area, single=single, source_name=name)
        else:
            bulletin = parse_text(raw, county=county, single=single, source_name=name)
        if not bulletin.items:
            raise GeoInputError(
                "文中没有找到事项（no items found in the text）", code="bulletin.no_items"
            )
        bulletin = date_bulletin(bulletin, given=date, file_date=file_date)
        if not bulletin.header.date:
            raise GeoInputError(
                "简报没有日期（报头和文件属性中都没有），请用 --date 2024-02-01 指定",
                code="bulletin.no_date",
            )
        return bulletin
    except (GeoInputError, OSError, RecursionError) as err:
        return _failed(path, err)


def _pool_context() -> Any:
    """Workers forked from a fork server that has the pipeline loaded (fast starts, and no
    database connection or thread of this process inherited); spawned where there is none."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["geo.pipeline"])
        return ctx
    return multiprocessing.get_context("spawn")


def _parsed(
    files: Sequence[str],
    *,
    county: str | None,
    single: bool,
    jobs: int,
    known: dict[str, str | None],
    date: str | None = None,
) -> Iterator[Bulletin | FileOutcome]:
    """Parsed bulletins (or outcomes) in the files' order, at most a few per worker ahead."""
    if jobs <= 1 or len(files) < 2 or "-" in files:  # a worker has no standard input
        _init_worker(known, county)
        for path in files:
            yield parse_one(path, county, single, date)
        return
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=_pool_context(),
        initializer=_init_worker,
        initargs=(known, county),
    )
    try:
        todo = iter(files)
        window: collections.deque[Future] = collections.deque(
            pool.submit(parse_one, path, county, single, date)
            for path in itertools.islice(todo, jobs * _IN_FLIGHT_PER_JOB)
        )
        while window:
            done = window.popleft()
            following = next(todo, None)
            if following is not None:
                window.append(pool.submit(parse_one, following, county, single, date))
            yield done.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- the run


def _existing_store(location: str | None) -> Store | None:
    """The store when it exists already (a server store always), else None."""
    where = paths.store_location(location)
    if isinstance(where, str) or where.exists():
        return Store(location)
    return None


def ingest_files(
    files: Sequence[str],
    *,
    store_location: str | None = None,
    county: str | None = None,
    single: bool = False,
    reassign_county: bool = False,
    jobs: int = 1,
    on_outcome: Callable[[FileOutcome], None] | None = None,
    date: str | None = None,
) -> IngestSummary:
    """Parse ``files`` in ``jobs`` processes and store each bulletin in its own transaction.

    Parameters
    ----------
    files : sequence of str
        From :func:`bulletin_files`.
    store_location : str, optional
        As :class:`geo.store.Store` takes it (``--store``); default ``$GEO_STORE``.
    county : str, optional
        County (or prefecture: each item placed in its own county) name or code for every
        file; detected per file when omitted.
    single, reassign_county
        As for :func:`geo.pipeline.parse_text` and :meth:`geo.store.Store.ingest`.
    jobs : int
        Worker processes for reading and parsing (1 = in this process).
    on_outcome : callable, optional
        Called with each file's :class:`FileOutcome`, in the files' order.
    date : str, optional
        ISO date of bulletins whose masthead gives none (:func:`geo.pipeline.check_date`); a
        bulletin with no date from anywhere fails (``bulletin.no_date``).

    Returns
    -------
    IngestSummary

    Raises
    ------
    StoreError
        The store cannot be opened, or is damaged (every further file would fail alike).
    """
    if not 1 <= jobs <= _MAX_JOBS:
        raise GeoInputError(f"--jobs 应在 1 到 {_MAX_JOBS} 之间", code="input.jobs")
    if county:  # a wrong county is one error, not one per file; a prefecture by its code
        area = find_area(county)
        county = getattr(area, "county_code", None) or area.code
    date = check_date(date)  # a bad date is one error before any work
    started = time.perf_counter()
    summary = IngestSummary(jobs=jobs)
    store = _existing_store(store_location)
    try:
        known = store.bulletin_counties() if store is not None else {}
        stream = _parsed(files, county=county, single=single, jobs=jobs, known=known, date=date)
        for path, parsed in zip(files, stream, strict=True):
            if isinstance(parsed, Bulletin):
                store = store or Store(store_location)
                parsed = _store_one(store, path, parsed, reassign_county)
            summary.add(parsed)
            if on_outcome is not None:
                on_outcome(parsed)
    finally:
        if store is not None:
            summary.location = store.location
            store.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _store_one(store: Store, path: str, bulletin: Bulletin, reassign: bool) -> FileOutcome:
    try:
        result = store.ingest(bulletin, reassign_county=reassign)
    except GeoInputError as err:
        if getattr(err, "code", "") in ("store.damaged", "store.unreachable", "store.read_only"):
            raise  # every further file would fail the same way
        return _failed(path, err)
    if not result.created:
        return FileOutcome(path, "unchanged", result.bulletin_id, result.n_items)
    warnings = tuple(w.message for w in bulletin.warnings)
    return FileOutcome(
        path,
        "created",
        result.bulletin_id,
        result.n_items,
        warnings=warnings,
        date=bulletin.header.date,
        n_repeats=result.n_repeats,
    )


def default_jobs() -> int:
    """Worker processes when the planner asks for ``--jobs 0``: the machine's cores."""
    return max(1, min(_MAX_JOBS, os.cpu_count() or 1))
