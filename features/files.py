"""Table files: finding them in a history folder, reading them raw, writing atomically.

A history folder holds one file per table, ``<table>.parquet``, ``<table>.csv``
or ``<table>.csv.gz`` (a Parquet dataset folder ``<table>.parquet/``, as Spark
writes it, counts as a Parquet file). Nothing here depends on how any one tool
names its ids or lays out its rows.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import zlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .contract import TABLES
from .outputs import atomic_write, csv_restore, csv_safe, temp_folder
from .problems import ProblemLog

FORMATS: dict[str, str] = {".csv.gz": "csv", ".csv": "csv", ".parquet": "parquet"}
OUTPUT_FORMATS: tuple[str, ...] = (".parquet", ".csv", ".csv.gz")


def split_name(name: str) -> tuple[str, str]:
    """``('accounts', '.csv.gz')`` for ``Accounts.CSV.gz``; the suffix is lower-cased."""
    low = name.lower()
    for suffix in FORMATS:
        if low.endswith(suffix):
            return low[: -len(suffix)], suffix
    stem, dot, ext = low.partition(".")
    return stem, (dot + ext if dot else "")


def discover(folder: Path, log: ProblemLog, names: dict[str, str] | None = None) -> dict[str, Path]:
    """The file of each contract table in ``folder``.

    Parameters
    ----------
    folder : Path
        The history folder (or any object with ``iterdir()`` whose entries
        have ``name`` and ``is_dir()``, as the Spark engine's remote listing).
    log : ProblemLog
        Receives a problem for two files of one table and for a table file in
        a format that is neither CSV nor Parquet.
    names : dict, optional
        ``{table: file name}`` from the configuration's ``[tables]``: the
        table's file is that one (compared case-insensitively; a name without
        an extension stands for any of the formats) instead of
        ``<table>.<format>``. Files that name no table are ignored.

    Returns
    -------
    dict
        ``{table: path}``.
    """
    names = names or {}
    # stem -> table: a mapped table is found under its file's stem only.
    stems = {t: t for t in TABLES if t not in names}
    exact: dict[str, str] = {}
    for table, name in names.items():
        stem, suffix = split_name(name)
        if suffix in FORMATS:
            exact[name.lower()] = table
        else:
            stems[name.lower()] = table
    found: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.name.lower() in exact:
            found.setdefault(exact[entry.name.lower()], []).append(entry)
            continue
        stem, suffix = split_name(entry.name)
        table = stems.get(stem)
        if table is None:
            continue
        if suffix not in FORMATS or (entry.is_dir() and suffix != ".parquet"):
            given = f" (named in [tables] as {names[table]!r})" if table in names else ""
            log.problem(
                entry.name,
                None,
                f"table '{table}'{given} must be a CSV, CSV.gz or Parquet file named {stem}.csv, {stem}.csv.gz "
                f"or {stem}.parquet; export it again in one of those formats",
                code="files.format",
            )
            continue
        found.setdefault(table, []).append(entry)
    files: dict[str, Path] = {}
    for table, paths in found.items():
        if len(paths) > 1:
            listed = ", ".join(p.name for p in paths)
            log.problem(table, None, f"{len(paths)} files for one table ({listed}); keep exactly one", code="files.duplicate")
        else:
            files[table] = paths[0]
    return files


def expected_files(table: str, names: dict[str, str] | None = None) -> str:
    """How a missing table's file must be called, for messages: ``accounts.csv, accounts.csv.gz or accounts.parquet``."""
    name = (names or {}).get(table)
    if name is not None and split_name(name)[1] in FORMATS:
        return f"{name} (its name in [tables])"
    stem = name or table
    return f"{stem}.csv, {stem}.csv.gz or {stem}.parquet" + (" (its name in [tables])" if name else "")


def read_raw(path: Path, table: str, log: ProblemLog) -> pd.DataFrame | None:
    """Read one table file without interpreting values.

    CSV cells come back as strings (empty cells as ``""``) so that no value is
    guessed at here; Parquet columns keep their stored types. Returns None and
    records a problem when the file cannot be read as its format.
    """
    fmt = FORMATS[split_name(path.name)[1]]
    if path.is_symlink() and not path.exists():
        log.problem(path.name, None, f"is a symbolic link to {os.readlink(path)}, which does not exist; fix the link, "
                    f"or copy the exported file into the folder as {path.name}", code="files.broken_link")
        return None
    if not os.access(path, os.R_OK) or _unreadable(path):
        log.problem(path.name, None, "cannot be read: permission denied; give the user running mqa read access "
                    f"(chmod a+r {path}) or copy the file somewhere readable", code="files.permission")
        return None
    if fmt == "parquet":
        return _read_parquet(path, table, log)
    return _read_csv(path, table, log)


def _unreadable(path: Path) -> bool:
    """True when opening ``path`` fails for want of permission (``os.access`` says yes to root)."""
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            with open(path, "rb"):
                pass
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def _read_parquet(path: Path, table: str, log: ProblemLog) -> pd.DataFrame | None:
    try:
        arrow = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        log.problem(path.name, None, f"is not a readable Parquet file ({_first_line(exc)}); export table '{table}' again", code="files.parquet_unreadable")
        return None
    return arrow.to_pandas()


def _read_csv(path: Path, table: str, log: ProblemLog) -> pd.DataFrame | None:
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    try:
        opener = gzip.open if compression else open
        with opener(path, "rb") as fh:
            head = fh.read(65536)
    except PermissionError:
        log.problem(path.name, None, f"cannot be read: permission denied; give the user running mqa read access (chmod a+r {path})", code="files.permission")
        return None
    except (OSError, EOFError, zlib.error) as exc:
        if compression and not isinstance(exc, FileNotFoundError):
            log.problem(path.name, None, f"is not a readable gzip file ({_first_line(exc)}); compress it again with gzip", code="files.gzip_unreadable")
        else:
            log.problem(path.name, None, f"cannot be read ({_first_line(exc)}); check the file and export it again", code="files.unreadable")
        return None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 4 and head[1:4:2] == b"\x00\x00" and b"\x00" not in head[0:4:2]):
        log.problem(path.name, None, "is UTF-16 text (as Excel's 'Unicode Text' saves it); save it as UTF-8 CSV "
                    "('CSV UTF-8' in Excel) or convert it: iconv -f UTF-16 -t UTF-8", code="files.utf16")
        return None
    if b"\x00" in head:
        log.problem(path.name, None, f"is not a CSV file (it holds binary data); export table '{table}' as CSV or Parquet", code="files.binary")
        return None
    header = _header(head)
    if header is not None and len(header) == 1 and header[0].count(";") >= 1:
        log.problem(path.name, None, "is separated by semicolons (';'), not commas; export it again as comma-separated "
                    "CSV (in Excel: 'CSV UTF-8 (Comma delimited)')", code="files.semicolons")
        return None
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            encoding="utf-8-sig",
            compression=compression,
            skipinitialspace=False,
        )
        # pandas renames a repeated column ('employees' twice becomes 'employees.1'):
        # put the header's own names back, so that the repeat is seen and refused.
        if header is not None and len(header) == len(frame.columns):
            frame.columns = header
        return frame
    except pd.errors.EmptyDataError:
        log.problem(path.name, None, "is empty: not even a header row; export the table with its header", code="files.no_header")
    except UnicodeDecodeError:
        log.problem(path.name, None, "is not UTF-8 text; save it as UTF-8 CSV", code="files.not_utf8")
    except (pd.errors.ParserError, ValueError, OSError, EOFError, zlib.error) as exc:
        log.problem(path.name, None, f"is not a well-formed CSV file ({_first_line(exc)}); export it again", code="files.malformed_csv")
    return None


def _header(head: bytes) -> list[str] | None:
    """The header row's names as written, from the first bytes of a CSV file (None if it cannot be parsed)."""
    import csv
    import io

    text = head.decode("utf-8-sig", errors="replace")
    try:
        return next(csv.reader(io.StringIO(text)), None)
    except csv.Error:
        return None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def output_suffix(path: Path) -> str:
    """The output format of ``path`` by its extension, or raise a clear ValueError."""
    _, suffix = split_name(path.name)
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(f"{path}: the output format is chosen by the extension; use .parquet, .csv or .csv.gz")
    return suffix


def write_frame(frame: pd.DataFrame, path: str | Path, inert: bool = True) -> Path:
    """Write ``frame`` to ``path`` as Parquet or CSV by its extension, atomically.

    The file is written next to its destination and renamed into place, so a
    crash leaves either the old file or the new one, never half of one. In a
    CSV, text cells a spreadsheet would run as formulas are made inert
    (:func:`~mqa.features.outputs.csv_safe`) unless ``inert`` is false: a
    synthetic history is written as the data it is, for mqa to read back.

    Raises
    ------
    ValueError
        An unknown extension.
    OutputError
        The operating system refused the write; nothing was written.
    """
    path = Path(path)
    suffix = output_suffix(path)

    def write(tmp: str) -> None:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix == ".csv.gz":
            # No time stamp and no file name in the gzip header: the same
            # frame gives the same bytes (a seed's synthetic history included).
            with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
                (csv_safe(frame) if inert else frame).to_csv(text, index=False)
                text.flush()
                text.detach()
        else:
            (csv_safe(frame) if inert else frame).to_csv(tmp, index=False)

    return atomic_write(path, write)


def write_history(tables: dict[str, pd.DataFrame], folder: str | Path, fmt: str = "parquet", overwrite: bool = False) -> list[Path]:
    """Write a set of contract tables into ``folder``, one file per table, all or nothing.

    Parameters
    ----------
    tables : dict
        ``{table name: DataFrame}``.
    folder : path
        Destination folder; created if missing.
    fmt : {'parquet', 'csv', 'csv.gz'}
        File format.
    overwrite : bool
        Replace table files already in ``folder`` (of any format). Without it a
        folder that already holds a table file is refused, since two files of
        one table would make the history unreadable.

    Raises
    ------
    FileExistsError
        ``folder`` already holds table files and ``overwrite`` is false.
    """
    suffix = "." + fmt.lstrip(".")
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(f"format '{fmt}' is not one of parquet, csv, csv.gz")
    folder = Path(folder)
    existing = []
    if folder.exists():
        existing = [p for p in sorted(folder.iterdir()) if split_name(p.name)[0] in TABLES and not p.name.startswith(".")]
        if existing and not overwrite:
            names = ", ".join(p.name for p in existing)
            raise FileExistsError(
                f"{folder} already holds a CRM history ({names}); choose an empty folder or pass --overwrite"
            )
    folder.mkdir(parents=True, exist_ok=True)
    # Everything is written to a staging folder first: a failure half way
    # leaves the destination as it was.
    staging = temp_folder(folder, "staging-")
    try:
        written = [write_frame(frame, staging / f"{name}{suffix}", inert=False) for name, frame in tables.items()]
        for p in existing:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        final = []
        for p in written:
            os.replace(p, folder / p.name)
            final.append(folder / p.name)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_output(path: str | Path, numbers: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read back a table mqa wrote (Parquet, CSV or CSV.gz), with its ids exactly as written.

    CSV cells are read as text, so that ids such as ``NA``, ``null``,
    ``None`` or ``nan`` stay ids; the quote :func:`~mqa.features.outputs.csv_safe`
    put before formula-like cells is removed; ``numbers`` become floats and
    ``flags`` nullable booleans; empty cells are missing.
    """
    path = Path(path)
    if split_name(path.name)[1] == ".parquet":
        return pd.read_parquet(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[],
                        compression="gzip" if path.name.lower().endswith(".gz") else None)
    for col in frame.columns:
        text = frame[col]
        if col in numbers:
            frame[col] = pd.to_numeric(text.mask(text.eq("")), errors="raise").astype("float64")
        elif col in flags:
            low = text.str.strip().str.lower()
            bad = ~low.isin(["true", "false", ""])
            if bad.any():
                raise ValueError(f"column '{col}' holds {text[bad].iloc[0][:60]!r}, not true/false")
            frame[col] = low.map({"true": True, "false": False, "": pd.NA}).astype("boolean")
        else:
            frame[col] = csv_restore(text.mask(text.eq("")))
    return frame
