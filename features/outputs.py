"""Writing outputs safely: atomic files, refused destinations, inert CSV cells, plain terminal text.

Everything mqa writes goes through :func:`atomic_write` (a temporary file
next to the destination, renamed into place), so a crash leaves the old file
or the new one, never half of one. Temporary files and folders carry the
prefix :data:`TEMP_PREFIX`; :func:`clean_leftovers` removes those an
interrupted run left behind once they are older than an hour (a younger one
may belong to a run still going). Outputs get the permissions the umask
gives (``0666 & ~umask``), not ``mkstemp``'s owner-only 0600.

Destinations are checked before any data is read (:func:`check_output`): an
output inside the history folder, or that is one of the input files, is
refused. Operating-system errors on writing become :class:`OutputError`, a
message naming the path and the fix.

CSV cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return are formulas to a spreadsheet; :func:`csv_safe` prefixes such text
cells with a single quote, as OWASP recommends, and :func:`csv_restore`
undoes it when mqa reads its own files back, so ids round-trip exactly.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
from pandas.api import types as pdt

from mqa.errors import MqaError
from mqa.features.plain import QUOTE_LIMIT, clip, printable, quoted  # noqa: F401 - re-exported
from mqa.features.sql import is_url

TEMP_PREFIX = ".mqa-tmp-"
STALE_SECONDS = 3600

# A cell a spreadsheet would run: starts with one of these, possibly after
# quotes that csv_safe itself added (so that the escaping is reversible).
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'(?='*[=+\-@\t\r])")


class OutputError(MqaError):
    """An output that cannot or must not be written; the message names the path and the fix."""


# --- permissions and temporary files -------------------------------------------------
def file_mode() -> int:
    """The mode a new file gets from the umask (``0666 & ~umask``)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_folder(parent: Path, label: str = "") -> Path:
    """A new temporary folder in ``parent``, named with :data:`TEMP_PREFIX`, with the umask's permissions."""
    path = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{label}", dir=parent))
    os.chmod(path, 0o777 & ~_umask())
    return path


def clean_leftovers(folder: str | Path, max_age: float = STALE_SECONDS) -> list[Path]:
    """Remove mqa's temporary files and folders in ``folder`` older than ``max_age`` seconds.

    Only names starting with :data:`TEMP_PREFIX` are touched. Errors are
    ignored: cleaning up must never stop a run. Returns what was removed.
    """
    folder = Path(folder)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        try:
            if now - entry.lstat().st_mtime < max_age:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            continue
    return removed


def atomic_write(path: str | Path, write: Callable[[str], None], replace: bool = True) -> Path:
    """Write ``path`` through ``write(temporary_name)`` and rename it into place.

    With ``replace`` false an existing ``path`` is never replaced, even one
    created while writing: the finished file is linked into place, which
    fails when the name is taken.

    Raises
    ------
    OutputError
        The operating system refused (read-only, no permission, disk full, a
        folder in the way, a file where a folder should be), or ``path``
        exists and ``replace`` is false.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(os_error_message(exc, path)) from None
    clean_leftovers(path.parent)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; pass a file name, not a folder. Nothing was written.")
    if not replace and os.path.lexists(path):
        raise OutputError(_exists_message(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        os.chmod(tmp, file_mode())
        if replace:
            os.replace(tmp, path)
            tmp = None
        else:
            os.link(tmp, path)  # the finally below removes the temporary name
    except FileExistsError:
        raise OutputError(_exists_message(path)) from None
    except OSError as exc:
        raise OutputError(os_error_message(exc, path)) from None
    finally:
        if tmp is not None and os.path.lexists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def _exists_message(path: Path) -> str:
    return f"{path}: already exists; mqa does not replace it. Choose another file name, or move that file away first."


def write_text(path: str | Path, text: str, replace: bool = True) -> Path:
    """Write UTF-8 text atomically (see :func:`atomic_write`); ``replace=False`` never replaces an existing file."""
    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    return atomic_write(path, write, replace=replace)


def os_error_message(exc: OSError, path: Path, nothing: str = "nothing was written") -> str:
    """One paragraph for an operating-system error on writing ``path``: what happened and the fix."""
    code = exc.errno
    if code in (errno.EROFS,):
        why = "the file system is read-only; write to another folder (for example under your home folder)"
    elif code in (errno.EACCES, errno.EPERM):
        why = "permission denied; write to a folder you can write to, or ask for write access to this one"
    elif code in (errno.ENOSPC, errno.EDQUOT):
        why = "the disk is full (or the quota is used up); free some space or write to another disk"
    elif code == errno.EISDIR:
        why = "a folder is in the way; pass a file name, not a folder"
    elif code == errno.ENOTDIR:
        why = "a part of the path is a file, not a folder; choose a path whose parent folders are folders"
    elif code == errno.ENAMETOOLONG:
        why = "the file name is too long; choose a shorter one"
    else:
        why = f"{exc.strerror or type(exc).__name__}; check the path and try again"
    return f"{path}: cannot write it: {why}. {nothing[0].upper() + nothing[1:]}."


# --- where outputs may go -----------------------------------------------------------
def _resolved(path: str | Path) -> Path:
    return Path(os.path.abspath(os.path.realpath(path)))


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(out: str | Path, option: str, data: str | Path | None = None, inputs: Iterable[str | Path] = (),
                 folder: bool = False, data_label: str = "the history folder") -> Path:
    """Refuse an output path before anything is read or computed.

    Parameters
    ----------
    out : path
        The destination (a file, or a folder when ``folder``).
    option : str
        How the user gave it (``--out``), for the message.
    data : path or str, optional
        The history folder (or another folder, named by ``data_label``):
        nothing is ever written inside it. A database URL is no folder: only
        a SQLite database's file is kept from being replaced.
    inputs : paths
        Input files: an output may not replace one.
    folder : bool
        ``out`` is a folder (``mqa train``, ``mqa report``).

    Raises
    ------
    OutputError
        Naming the path, why, and the fix.
    """
    out = Path(out)
    real = _resolved(out)
    if data is not None and is_url(str(data)):
        from .sql import sqlite_file

        database = sqlite_file(str(data))
        inputs, data = [*inputs, *([database] if database is not None else [])], None
    if data is not None:
        d = _resolved(data)
        if _is_within(real, d):
            raise OutputError(f"{option} {out}: is inside {data_label} {data}; mqa never writes there. "
                              f"Write the output elsewhere, for example next to that folder")
        if folder and _is_within(d, real):
            raise OutputError(f"{option} {out}: holds {data_label} {data}; choose a folder of its own for the output")
    for given in inputs:
        if given is not None and _resolved(given) == real:
            raise OutputError(f"{option} {out}: is also an input ({given}); writing it would replace the input. "
                              f"Choose another file name")
    if not folder and out.is_dir():
        raise OutputError(f"{option} {out}: is a folder; pass a file name inside it, such as {out / 'scores.parquet'}")
    if folder and out.exists() and not out.is_dir():
        raise OutputError(f"{option} {out}: is a file, not a folder; pass a folder name")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"{option} {out}: {parent} is a file, not a folder; choose a path whose parent folders are folders")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {out}: cannot write in {parent} (permission denied); write to a folder you can "
                          f"write to, or ask for write access")
    return out


# --- inert text ----------------------------------------------------------------------
def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell a spreadsheet would run as a formula prefixed by a single quote.

    Only text columns are touched: a negative number in a numeric column is a
    number, not a formula. Reversible with :func:`csv_restore`.
    """
    out = None
    for col in frame.columns:
        s = frame[col]
        if not (pdt.is_string_dtype(s) or s.dtype == object):
            continue
        text = s.map(lambda v: "'" + v if isinstance(v, str) and _FORMULA.match(v) else v) if s.dtype == object else \
            s.str.replace(_FORMULA.pattern, lambda m: "'" + m.group(0), regex=True)
        if out is None:
            out = frame.copy()
        out[col] = text
    return frame if out is None else out


def csv_restore(values: pd.Series) -> pd.Series:
    """Undo :func:`csv_safe` on a text column read back from mqa's own CSV."""
    return values.str.replace(_ESCAPED.pattern, "", regex=True)


__all__ = [
    "TEMP_PREFIX",
    "OutputError",
    "atomic_write",
    "check_output",
    "clean_leftovers",
    "clip",
    "csv_restore",
    "csv_safe",
    "file_mode",
    "os_error_message",
    "printable",
    "quoted",
    "temp_folder",
    "write_text",
]
