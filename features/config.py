"""Project configuration read from a TOML file.

Today it maps a user's own column names onto the contract's::

    [columns.accounts]
    account_id = "Account ID"      # contract name = the user's column name
    employees  = "NumberOfEmployees"

    [columns.activities]
    timestamp = "event_time"

A CRM's own fields become features only when declared as attributes::

    [attributes.accounts]
    lead_source = "category"       # a column of accounts, known from the account's creation
    seats       = "number"

Sections this version does not know are kept in ``Config.raw`` for later
parts of the pipeline (training, scoring) and are not an error.
"""

from __future__ import annotations

from mqa.errors import MqaError

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .contract import TABLES


class ConfigError(MqaError):
    """A configuration file that cannot be used; the message says why and where."""


# Engagement points per activity type: intent shown by the action, not its
# frequency. A demo request is worth 25 page views; product usage is an
# existing customer's routine and earns nothing.
DEFAULT_WEIGHTS: dict[str, float] = {
    "web_visit": 1,
    "pricing_page_visit": 10,
    "content_download": 5,
    "webinar_registered": 3,
    "webinar_attended": 8,
    "email_open": 1,
    "email_click": 3,
    "ad_click": 2,
    "form_fill": 10,
    "demo_request": 25,
    "event_attended": 10,
    "trial_signup": 20,
    "product_usage": 0,
    "other": 1,
}

# The typical buying committee: role -> departments that fill it. The
# executive sponsor is also filled by any vp or c_level contact.
DEFAULT_COMMITTEE: dict[str, tuple[str, ...]] = {
    "executive_sponsor": ("executive",),
    "technical": ("it", "engineering"),
    "finance": ("finance",),
    "procurement": ("procurement",),
    "business_user": ("marketing", "sales", "operations"),
}


# Kinds of a declared attribute: a category (trimmed text, empty = missing)
# or a number (the contract's number rule).
ATTRIBUTE_KINDS: tuple[str, ...] = ("category", "number")
# Tables whose own fields may be declared as attributes.
ATTRIBUTE_TABLES: tuple[str, ...] = ("accounts",)
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FeatureSettings:
    """What the feature builders and labels are tuned by (all in the TOML file).

    Parameters
    ----------
    icp_industries, icp_technologies : tuple of str
        Ideal customer profile, compared case-insensitively (``[icp]``).
    icp_employees : (int, int)
        Inclusive employee band of the ideal customer.
    relevant_topics : tuple of str
        Intent topics of the product's category (``[intent] relevant_topics``).
    weights : dict
        Engagement points per activity type (``[engagement.weights]``).
    committee : dict
        Buying roles and the departments that fill them (``[engagement.committee]``).
    horizon_days : int
        Label horizon (``[labels] horizon_days``).
    label_types : tuple of str or None
        Opportunity types that count as a positive label
        (``[labels] opportunity_types``); None counts every type but
        ``label_excluded_types``. Opportunities without a type always count.
    step_days : int
        Spacing of the default as-of grid (``[grid] step_days``).
    label_excluded_types : tuple of str
        With ``label_types`` None, the types that are no positive label
        (``[labels] exclude_types``; default ``renewal``: it follows the
        contract calendar, not marketing).
    warmup_days : int or None
        Days between the first engagement event and the first as-of date of
        the default grid (``[grid] warmup_days``); None chooses it from the
        data: 90 where the history has room, less on a short one.
    attributes : tuple of (str, str)
        Declared accounts attributes, ``(column, kind)`` with kind
        ``category`` or ``number`` (``[attributes.accounts]``); each becomes
        the feature ``attribute__<column>``. Default: none.

    The defaults describe the market of the bundled synthetic generator; set
    your own profile for real data.
    """

    icp_industries: tuple[str, ...] = ("software", "financial services", "healthcare", "logistics")
    icp_employees: tuple[int, int] = (200, 5000)
    icp_technologies: tuple[str, ...] = ("snowflake", "dbt", "aws", "kubernetes", "salesforce")
    relevant_topics: tuple[str, ...] = (
        "data integration", "etl", "data warehousing", "reverse etl", "data pipelines", "customer data platform",
    )
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    committee: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_COMMITTEE))
    horizon_days: int = 90
    label_types: tuple[str, ...] | None = None
    step_days: int = 14
    label_excluded_types: tuple[str, ...] = ("renewal",)
    warmup_days: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()


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
    features: FeatureSettings = field(default_factory=FeatureSettings)
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
    attributes, attribute_errors = _attributes(raw.get("attributes", {}))
    columns = _column_map(raw.get("columns", {}), path, extra={"accounts": tuple(n for n, _ in attributes)})
    return Config(columns=columns, features=_feature_settings(raw, path, attributes, attribute_errors),
                  raw=raw, source=str(path))


def _attributes(section) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """The declared ``[attributes.<table>]`` fields as ``(column, kind)`` pairs, and every problem found."""
    if not isinstance(section, dict):
        return (), ["[attributes]: must hold [attributes.accounts], a table of column = \"category\" or \"number\""]
    errors: list[str] = []
    out: dict[str, str] = {}
    for table, fields in section.items():
        if table not in ATTRIBUTE_TABLES:
            errors.append(f"[attributes.{table}]: only accounts attributes are supported for now ([attributes.accounts])"
                          + ("" if table in TABLES else f"; '{table}' is not a table of the contract either"))
            continue
        if not isinstance(fields, dict):
            errors.append(f"[attributes.{table}]: must map column names to a kind, such as lead_source = \"category\"")
            continue
        contract = TABLES[table].names
        for name, kind in fields.items():
            key = name.strip().lower()
            where = f"[attributes.{table}] {name}"
            if not isinstance(kind, str):
                errors.append(f"{where}: the kind must be a string, \"category\" or \"number\", not {kind!r}")
            elif kind.strip().lower() not in ATTRIBUTE_KINDS:
                errors.append(f"{where}: unknown kind {kind!r}; expected one of {', '.join(ATTRIBUTE_KINDS)}")
            if key in contract:
                errors.append(f"{where}: is a contract column of {table}, already read as the contract says; "
                              "declare only your CRM's own fields")
            elif not _ATTRIBUTE_NAME.match(key):
                errors.append(f"{where}: a name must be letters, digits and underscores (it names the feature "
                              f"attribute__<name>); map your column to such a name in [columns.{table}]")
            elif key in out:
                errors.append(f"{where}: declared twice (names are compared case-insensitively)")
            elif isinstance(kind, str) and kind.strip().lower() in ATTRIBUTE_KINDS:
                out[key] = kind.strip().lower()
    return tuple(out.items()), errors


def _feature_settings(raw: dict, path: Path, attributes: tuple[tuple[str, str], ...] = (),
                      attribute_errors: list[str] | None = None) -> FeatureSettings:
    """Build ``FeatureSettings`` from the ``[icp]``, ``[intent]``, ``[engagement]``, ``[labels]``, ``[grid]`` and ``[attributes]`` tables."""
    errors: list[str] = list(attribute_errors or [])
    d = FeatureSettings()

    def words(section, key, default):
        value = raw.get(section, {}).get(key, None)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.append(f"[{section}] {key}: must be a list of strings")
            return default
        return tuple(v.strip().lower() for v in value)

    def number(section, key, default, low):
        value = raw.get(section, {}).get(key, None)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            errors.append(f"[{section}] {key}: must be a whole number >= {low}")
            return default
        return value

    employees = raw.get("icp", {}).get("employees", None)
    if employees is None:
        band = d.icp_employees
    elif (isinstance(employees, list) and len(employees) == 2 and all(isinstance(v, int) for v in employees)
          and 0 <= employees[0] <= employees[1]):
        band = (employees[0], employees[1])
    else:
        errors.append("[icp] employees: must be [min, max] whole numbers with 0 <= min <= max")
        band = d.icp_employees

    weights = dict(d.weights)
    for kind, w in raw.get("engagement", {}).get("weights", {}).items():
        if kind not in weights:
            errors.append(f"[engagement.weights] {kind}: not an activity type; expected one of {', '.join(weights)}")
        elif not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
            errors.append(f"[engagement.weights] {kind}: must be a number >= 0")
        else:
            weights[kind] = float(w)

    committee = dict(d.committee)
    given = raw.get("engagement", {}).get("committee", None)
    if given is not None:
        if not isinstance(given, dict) or not given or not all(
            isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in given.values()
        ):
            errors.append("[engagement.committee]: each role must map to a non-empty list of departments")
        else:
            committee = {role: tuple(x.strip().lower() for x in deps) for role, deps in given.items()}

    types = raw.get("labels", {}).get("opportunity_types", None)
    if types is not None and (not isinstance(types, list) or not types or not all(isinstance(v, str) for v in types)):
        errors.append("[labels] opportunity_types: must be a non-empty list of opportunity types")
        types = None
    excluded = raw.get("labels", {}).get("exclude_types", None)
    if excluded is not None and (not isinstance(excluded, list) or not all(isinstance(v, str) for v in excluded)):
        errors.append("[labels] exclude_types: must be a list of opportunity types (an empty list counts every type)")
        excluded = None
    if excluded is not None and types is not None:
        errors.append("[labels]: give opportunity_types (the types that count) or exclude_types (the types that do not), not both")
    warmup = raw.get("grid", {}).get("warmup_days", None)
    if warmup is not None and (not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0):
        errors.append("[grid] warmup_days: must be a whole number >= 0")
        warmup = None
    settings = FeatureSettings(
        icp_industries=words("icp", "industries", d.icp_industries),
        icp_employees=band,
        icp_technologies=words("icp", "technologies", d.icp_technologies),
        relevant_topics=words("intent", "relevant_topics", d.relevant_topics),
        weights=weights,
        committee=committee,
        horizon_days=number("labels", "horizon_days", d.horizon_days, 1),
        label_types=tuple(t.strip().lower() for t in types) if types else None,
        step_days=number("grid", "step_days", d.step_days, 1),
        label_excluded_types=(tuple(t.strip().lower() for t in excluded) if excluded is not None
                              else d.label_excluded_types),
        warmup_days=warmup,
        attributes=attributes,
    )
    if errors:
        raise ConfigError(f"config {path}:\n" + "\n".join(f"  - {e}" for e in errors))
    return settings


def _column_map(section, path: Path, extra: dict[str, tuple[str, ...]] | None = None) -> dict[str, dict[str, str]]:
    """Check the ``[columns.<table>]`` tables and return them lower-cased.

    ``extra`` names the declared attributes of each table, which may be mapped like contract columns.
    """
    extra = extra or {}
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
        known = TABLES[table].names + extra.get(table, ())
        out[table] = {}
        for contract_col, user_col in mapping.items():
            if contract_col.lower() not in known:
                errors.append(
                    f"[columns.{table}] {contract_col}: not a column of '{table}'; expected one of {', '.join(known)}"
                    + (f" (a field of your own must be declared in [attributes.{table}] first)" if table in ATTRIBUTE_TABLES else "")
                )
            elif not isinstance(user_col, str) or not user_col.strip():
                errors.append(f"[columns.{table}] {contract_col}: the value must be your column's name as a string")
            else:
                out[table][contract_col.lower()] = user_col.strip()
    if errors:
        raise ConfigError(f"config {path}:\n" + "\n".join(f"  - {e}" for e in errors))
    return out
