"""Project configuration read from a TOML file.

Today it maps a user's own column names onto the contract's::

    [columns.accounts]
    account_id = "Account ID"      # contract name = the user's column name
    employees  = "NumberOfEmployees"

    [columns.activities]
    timestamp = "event_time"

Sections this version does not know are kept in ``Config.raw`` for later
parts of the pipeline (training, scoring) and are not an error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .contract import TABLES


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says why and where."""


@dataclass(frozen=True)
class Config:
    """Parsed configuration.

    Parameters
    ----------
    columns : dict
        ``{table: {contract_column: user_column}}``.
    raw : dict
        The whole parsed TOML document.
    source : str or None
        The file it came from.
    """

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    source: str | None = None


def load_config(path: str | Path | None) -> Config:
    """Read and check a TOML configuration file; ``None`` gives the defaults.

    Raises
    ------
    ConfigError
        The file is missing, is not TOML, or maps an unknown table or column.
    """
    if path is None:
        return Config()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config {path}: no such file; pass the path of a TOML file.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path}: not valid TOML ({exc}).") from None
    return Config(columns=_column_map(raw.get("columns", {}), path), raw=raw, source=str(path))


def _column_map(section, path: Path) -> dict[str, dict[str, str]]:
    """Check the ``[columns.<table>]`` tables and return them lower-cased."""
    errors = []
    if not isinstance(section, dict):
        raise ConfigError(f"config {path}: [columns] must be a table of [columns.<table>] tables.")
    out: dict[str, dict[str, str]] = {}
    for table, mapping in section.items():
        if table not in TABLES:
            errors.append(f"[columns.{table}]: unknown table; known tables are {', '.join(TABLES)}")
            continue
        if not isinstance(mapping, dict):
            errors.append(f"[columns.{table}] must map contract column names to your column names")
            continue
        known = TABLES[table].names
        out[table] = {}
        for contract_col, user_col in mapping.items():
            if contract_col.lower() not in known:
                errors.append(
                    f"[columns.{table}] {contract_col}: not a column of '{table}'; expected one of {', '.join(known)}"
                )
            elif not isinstance(user_col, str) or not user_col.strip():
                errors.append(f"[columns.{table}] {contract_col}: the value must be your column's name as a string")
            else:
                out[table][contract_col.lower()] = user_col.strip()
    if errors:
        raise ConfigError(f"config {path}:\n" + "\n".join(f"  - {e}" for e in errors))
    return out
