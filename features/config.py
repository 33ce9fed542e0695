"""Project configuration: one typed schema for every section of the TOML file.

The file maps a user's own table files and column names onto the contract's,
declares a CRM's own fields as attributes, and tunes the features, labels,
scores, evaluation, backtest, model and tracking::

    [tables]
    accounts = "Account.csv"       # contract table = the file's name in the history folder

    [columns.accounts]
    account_id = "Id"              # contract name = the user's column name
    employees  = "NumberOfEmployees"

    [columns.contacts]
    name = ["FirstName", "LastName"]   # several columns joined with a space

    [attributes.accounts]
    lead_source = "category"       # a column of accounts, known from the account's creation

Every section is a pydantic model with ``extra="forbid"``: an unknown section
or key is refused with "did you mean", and every problem in the file is
listed at once in one :class:`ConfigError`, as ``[section] key: problem``.
``docs/configuration.md`` documents each key; :func:`load_config` is the one
reader, and :class:`Config` holds what the rest of the code uses.
"""

import difflib
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from mqa.errors import MqaError

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

# The ideal customer profile and intent topics of the bundled synthetic
# generator's market: a real history needs its own (see icp_notice).
DEFAULT_ICP_INDUSTRIES: tuple[str, ...] = ("software", "financial services", "healthcare", "logistics")
DEFAULT_ICP_EMPLOYEES: tuple[int, int] = (200, 5000)
DEFAULT_ICP_TECHNOLOGIES: tuple[str, ...] = ("snowflake", "dbt", "aws", "kubernetes", "salesforce")
DEFAULT_TOPICS: tuple[str, ...] = (
    "data integration", "etl", "data warehousing", "reverse etl", "data pipelines", "customer data platform",
)


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
    topic_url_prefixes : tuple of (str, str)
        ``(URL path prefix, topic)`` pairs, sorted, both lower case
        (``[topics] url_prefixes``): an activity without a topic gets the
        topic of the longest prefix its URL's path starts with. Default: none.

    The defaults describe the market of the bundled synthetic generator; set
    your own profile for real data.
    """

    icp_industries: tuple[str, ...] = DEFAULT_ICP_INDUSTRIES
    icp_employees: tuple[int, int] = DEFAULT_ICP_EMPLOYEES
    icp_technologies: tuple[str, ...] = DEFAULT_ICP_TECHNOLOGIES
    relevant_topics: tuple[str, ...] = DEFAULT_TOPICS
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    committee: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_COMMITTEE))
    horizon_days: int = 90
    label_types: tuple[str, ...] | None = None
    step_days: int = 14
    label_excluded_types: tuple[str, ...] = ("renewal",)
    warmup_days: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    topic_url_prefixes: tuple[tuple[str, str], ...] = ()


# --- the schema ------------------------------------------------------------------------------------------
#
# Each value type below checks what TOML can hold (strings, whole numbers,
# floats, booleans, dates, arrays, tables) and raises its own message, so that
# a problem reads "[labels] horizon_days: must be a whole number >= 1, not 0"
# rather than pydantic's wording; _messages adds the "[section] key" part.

def _problem(text: str) -> PydanticCustomError:
    # The text goes in the context, not the template: it may hold braces.
    return PydanticCustomError("mqa", "{problem}", {"problem": text})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problems(title: str, found: list[tuple[tuple, str, Any]]) -> None:
    """Raise every ``(location, message, value)`` found by one validator at once."""
    if found:
        raise ValidationError.from_exception_data(
            title, [InitErrorDetails(type=_problem(msg), loc=loc, input=value) for loc, msg, value in found])


# A TOML array; a notebook's dict may hold tuples where a file holds arrays.
_ARRAY = (list, tuple)


def _did_you_mean(close: list[str]) -> str:
    """`` (did you mean x?)`` for the closest known name (difflib), or nothing when none is close."""
    return f" (did you mean {close[0]}?)" if close else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _maybe(check):
    """``check``, letting None (a notebook's "not given"; TOML has no null) through."""
    return lambda v: None if v is None else check(v)


# The value types are Annotated[T | None, ...] rather than Annotated[T] | None:
# a union would report each failed member separately.

def _whole(low: int, high: int | None = None, optional: bool = False):
    """A whole number in ``[low, high]`` (a TOML integer; 1.5, true and "3" are refused)."""
    expects = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"

    def check(v):
        if optional and v is None:
            return None
        if not isinstance(v, int) or isinstance(v, bool) or v < low or (high is not None and v > high):
            raise _problem(f"must be {expects}, not {_shown(v)}")
        return v
    return Annotated[int | None if optional else int, BeforeValidator(check)]


def _number(low: float | None = None, high: float | None = None, optional: bool = False):
    """A number (integer or float) in ``[low, high]``, as a float."""
    expects = ("a number" + (f" from {low:g} to {high:g}" if high is not None else f" >= {low:g}" if low is not None else ""))

    def check(v):
        if optional and v is None:
            return None
        if not _is_number(v) or (low is not None and v < low) or (high is not None and v > high):
            raise _problem(f"must be {expects}, not {_shown(v)}")
        return float(v)
    return Annotated[float | None if optional else float, BeforeValidator(check)]


def _words(what: str = "strings", non_empty: bool = False, optional: bool = False):
    """A list of strings, trimmed and lower-cased (values are compared case-insensitively)."""
    def check(v):
        if optional and v is None:
            return None
        if not isinstance(v, _ARRAY) or not all(isinstance(x, str) for x in v) or (non_empty and not v):
            raise _problem(f"must be a {'non-empty ' if non_empty else ''}list of {what}, not {_shown(v)}")
        return tuple(x.strip().lower() for x in v)
    return Annotated[tuple[str, ...] | None if optional else tuple[str, ...], BeforeValidator(check)]


def _check_text(v):
    if not isinstance(v, str) or not v.strip():
        raise _problem(f"must be a non-empty string, not {_shown(v)}")
    return v.strip()


Text = Annotated[str, BeforeValidator(_check_text)]
OptionalText = Annotated[str | None, BeforeValidator(_maybe(_check_text))]


def _check_band(v):
    if not (isinstance(v, _ARRAY) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
            and 0 <= v[0] <= v[1]):
        raise _problem(f"must be [min, max] whole numbers with 0 <= min <= max, not {_shown(v)}")
    return (v[0], v[1])


class Section(BaseModel):
    """A table of the file: unknown keys are refused, every value has a documented default."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    # How an unknown key is described; a section may say more (see Attributes).
    what: ClassVar[str] = "key"

    @classmethod
    def unknown(cls, key: str, path: str) -> str:
        """The message for an unknown ``key`` of this section, at ``path``."""
        known = list(cls.model_fields)
        close = difflib.get_close_matches(key, known, n=1)
        return f"unknown {cls.what}{_did_you_mean(close)}; the {cls.what}s of [{path}] are {', '.join(known)}"


class Icp(Section):
    """``[icp]``: the ideal customer profile, compared case-insensitively."""

    industries: _words() = Field(DEFAULT_ICP_INDUSTRIES, description="Target industries.")
    employees: Annotated[tuple[int, int], BeforeValidator(_check_band)] = Field(
        DEFAULT_ICP_EMPLOYEES, description="Inclusive employee band [min, max].")
    technologies: _words() = Field(DEFAULT_ICP_TECHNOLOGIES, description="Technologies an ideal customer runs.")


class Intent(Section):
    """``[intent]``: third-party intent topics."""

    relevant_topics: _words() = Field(DEFAULT_TOPICS, description="Topics of the product's category.")


def _check_weights(v):
    if not isinstance(v, dict):
        raise _problem(f"must be a table of activity type = points, not {_shown(v)}")
    found, out = [], {}
    for kind, w in v.items():
        if kind not in DEFAULT_WEIGHTS:
            close = difflib.get_close_matches(str(kind), list(DEFAULT_WEIGHTS), n=1)
            found.append(((kind,), "not an activity type" + _did_you_mean(close)
                          + f"; expected one of {', '.join(DEFAULT_WEIGHTS)}", kind))
        elif not _is_number(w) or w < 0:
            found.append(((kind,), f"must be a number >= 0, not {_shown(w)}", w))
        else:
            out[kind] = float(w)
    _problems("weights", found)
    return out


def _check_committee(v):
    if not isinstance(v, dict) or not v:
        raise _problem(f"each role must map to a non-empty list of departments, not {_shown(v)}")
    found, out = [], {}
    for role, deps in v.items():
        if not isinstance(deps, _ARRAY) or not deps or not all(isinstance(x, str) and x.strip() for x in deps):
            found.append(((role,), f"each role must map to a non-empty list of departments, not {_shown(deps)}", deps))
        else:
            out[role] = tuple(x.strip().lower() for x in deps)
    _problems("committee", found)
    return out


class Engagement(Section):
    """``[engagement]``: points per activity type and the buying committee."""

    weights: Annotated[dict[str, float], BeforeValidator(_check_weights)] = Field(
        default_factory=dict, description="Points per activity type; the types not given keep their default.")
    committee: Annotated[dict[str, tuple[str, ...]] | None, BeforeValidator(_maybe(_check_committee))] = Field(
        None, description="Buying roles and the departments that fill them; replaces the default committee.")


class Labels(Section):
    """``[labels]``: what makes a training row positive."""

    horizon_days: _whole(1) = Field(90, description="Days after as_of in which a new opportunity is a positive label.")
    opportunity_types: _words("opportunity types", non_empty=True, optional=True) = Field(
        None, description="The opportunity types that count (default: every type but exclude_types).")
    exclude_types: _words("opportunity types (an empty list counts every type)", optional=True) = Field(
        None, description="The types that do not count (default: renewal).")

    @model_validator(mode="after")
    def _one_of_the_two(self):
        if self.opportunity_types is not None and self.exclude_types is not None:
            raise _problem("give opportunity_types (the types that count) or exclude_types (the types that do not), not both")
        return self


class Grid(Section):
    """``[grid]``: the default as-of dates."""

    step_days: _whole(1) = Field(14, description="Days between as-of dates.")
    warmup_days: _whole(0, optional=True) = Field(None, description="Days from the first engagement to the first as-of date "
                                                           "(default: chosen from the data, 90 where there is room).")


def _check_attribute_kind(v):
    if not isinstance(v, str):
        raise _problem(f"the kind must be a string, \"category\" or \"number\", not {_shown(v)}")
    if v.strip().lower() not in ATTRIBUTE_KINDS:
        raise _problem(f"unknown kind {v!r}; expected one of {', '.join(ATTRIBUTE_KINDS)}")
    return v.strip().lower()


def _check_attributes(v):
    """``{name: kind}``; every name and kind is judged, so all their problems are listed together."""
    if not isinstance(v, dict):
        raise _problem(f"must map column names to a kind, such as lead_source = \"category\", not {_shown(v)}")
    found, out = [], {}
    for name, kind in v.items():
        key = name.strip().lower()
        try:
            kind = _check_attribute_kind(kind)
        except PydanticCustomError as exc:
            found.append(((name,), exc.context["problem"], kind))
            kind = None
        if key in TABLES["accounts"].names:
            found.append(((name,), "is a contract column of accounts, already read as the contract says; "
                           "declare only your CRM's own fields", name))
        elif not _ATTRIBUTE_NAME.match(key):
            found.append(((name,), "a name must be letters, digits and underscores (it names the feature "
                           "attribute__<name>); map your column to such a name in [columns.accounts]", name))
        elif key in out:
            found.append(((name,), "declared twice (names are compared case-insensitively)", name))
        elif kind is not None:
            out[key] = kind
    _problems("attributes", found)
    return out


class Attributes(Section):
    """``[attributes.<table>]``: a CRM's own fields that become features ``attribute__<name>``."""

    what: ClassVar[str] = "table"
    accounts: Annotated[dict[str, str], BeforeValidator(_check_attributes)] = Field(
        default_factory=dict, description="column = \"category\" or \"number\".")

    @classmethod
    def unknown(cls, key: str, path: str) -> str:
        return ("only accounts attributes are supported for now ([attributes.accounts])"
                + ("" if key in TABLES else f"; '{key}' is not a table of the contract either"))


def declared_names(document: dict) -> tuple[str, ...]:
    """The attribute names a document declares, read before it is validated (see _sources)."""
    section = document.get("attributes")
    accounts = section.get("accounts") if isinstance(section, dict) else None
    names = (str(k).strip().lower() for k in accounts) if isinstance(accounts, dict) else ()
    return tuple(n for n in names if _ATTRIBUTE_NAME.match(n) and n not in TABLES["accounts"].names)


def _sources(table: str):
    """``[columns.<table>]``: ``{contract column: user column, or a list of user columns joined with a space}``.

    A key must be a column of the contract's ``table`` or, for accounts, a
    declared attribute; the declared names come in the validation context
    (``declared_names``), so this check does not wait on the rest of the file.
    """
    def check(v, info: ValidationInfo):
        if not isinstance(v, dict):
            raise _problem(f"must map contract column names to your column names, not {_shown(v)}")
        extra = tuple((info.context or {}).get("declared", ())) if table in ATTRIBUTE_TABLES else ()
        known = TABLES[table].names + extra
        found, out = [], {}
        for col, source in v.items():
            key = col.strip().lower()
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                found.append(((col,), f"not a column of '{table}'" + _did_you_mean(close)
                              + f"; expected one of {', '.join(known)}"
                              + (f" (a field of your own must be declared in [attributes.{table}] first)"
                                 if table in ATTRIBUTE_TABLES else ""), col))
            elif isinstance(source, str) and source.strip():
                out[key] = source.strip()
            elif isinstance(source, _ARRAY) and source and all(isinstance(s, str) and s.strip() for s in source):
                out[key] = tuple(s.strip() for s in source)
            else:
                found.append(((col,), "the value must be your column's name as a string, or a list of column names "
                              f"to join with a space, not {_shown(source)}", source))
        _problems("columns", found)
        return out
    return Annotated[dict[str, str | tuple[str, ...]], BeforeValidator(check)]


class Columns(Section):
    """``[columns.<table>]``: the user's column names of each contract table."""

    what: ClassVar[str] = "table"
    accounts: _sources("accounts") = Field(default_factory=dict)
    contacts: _sources("contacts") = Field(default_factory=dict)
    activities: _sources("activities") = Field(default_factory=dict)
    intent: _sources("intent") = Field(default_factory=dict)
    signals: _sources("signals") = Field(default_factory=dict)
    opportunities: _sources("opportunities") = Field(default_factory=dict)
    opportunity_contacts: _sources("opportunity_contacts") = Field(default_factory=dict)
    dispositions: _sources("dispositions") = Field(default_factory=dict)

    @classmethod
    def unknown(cls, key: str, path: str) -> str:
        close = difflib.get_close_matches(key, list(TABLES), n=1)
        return (f"unknown table; known tables are {', '.join(TABLES)}"
                + _did_you_mean([f"[columns.{c}]" for c in close]))


def _check_file_name(v):
    if not isinstance(v, str) or not v.strip():
        raise _problem(f"must be the table's file name in the history folder, such as \"Account.csv\", not {_shown(v)}")
    name = v.strip()
    if "/" in name or "\\" in name:
        raise _problem(f"must be a file name in the history folder, not a path ({name!r})")
    # Imported here: files.py reads tables (pandas, pyarrow), which checking a file need not load.
    from .files import FORMATS, split_name

    if "." in name and split_name(name)[1] not in FORMATS:
        raise _problem(f"{name!r} is neither CSV nor Parquet: name a .csv, .csv.gz or .parquet file, "
                       "or give the name without its extension")
    return name


FileName = Annotated[str | None, BeforeValidator(_maybe(_check_file_name))]


class _TableMap(Section):
    """A section that maps each contract table to a name of its own (a file, or a table in a database)."""

    what: ClassVar[str] = "table"
    noun: ClassVar[str] = "file"

    @classmethod
    def unknown(cls, key: str, path: str) -> str:
        close = difflib.get_close_matches(key, list(TABLES), n=1)
        return (f"not a table of the contract; known tables are {', '.join(TABLES)}"
                + _did_you_mean(close))

    @model_validator(mode="after")
    def _one_name_per_table(self):
        seen: dict[str, str] = {}
        found = []
        for table, name in self.names().items():
            key = name.lower()
            if key in seen:
                found.append(((table,), f"{name!r} is already the {self.noun} of {seen[key]}; each table needs its own "
                              f"{self.noun}", name))
            seen.setdefault(key, table)
        _problems("tables", found)
        return self

    def names(self) -> dict[str, str]:
        """``{table: name}`` of the mapped tables."""
        return {t: n for t in TABLES if (n := getattr(self, t)) is not None}


class Tables(_TableMap):
    """``[tables]``: each table's file name, when it is not ``<table>.csv`` (or ``.csv.gz``, ``.parquet``)."""

    accounts: FileName = None
    contacts: FileName = None
    activities: FileName = None
    intent: FileName = None
    signals: FileName = None
    opportunities: FileName = None
    opportunity_contacts: FileName = None
    dispositions: FileName = None


def _check_table_name(v):
    if not isinstance(v, str) or not v.strip():
        raise _problem(f"must be the name of a table or view in the database, such as \"sf_account\" or "
                       f"\"salesforce.account\", not {_shown(v)}")
    name = v.strip()
    parts = name.split(".")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise _problem(f"must be a table or view name, or schema.name, not {name!r}")
    return ".".join(p.strip() for p in parts)


TableName = Annotated[str | None, BeforeValidator(_maybe(_check_table_name))]


class DatabaseTables(_TableMap):
    """``[database.tables]``: each table's table or view in the database (``schema.name`` or a bare name), when it is not
    named after the table."""

    noun: ClassVar[str] = "table or view"
    accounts: TableName = None
    contacts: TableName = None
    activities: TableName = None
    intent: TableName = None
    signals: TableName = None
    opportunities: TableName = None
    opportunity_contacts: TableName = None
    dispositions: TableName = None


with warnings.catch_warnings():
    # The key users write is "schema"; pydantic warns that it shadows the
    # deprecated BaseModel.schema() classmethod, which nothing here calls.
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class Database(Section):
        """``[database]``: where the tables are when --data is a database URL."""

        schema: OptionalText = Field(None, description="The schema holding the tables (default: the database's default "
                                                       "schema, e.g. public).")
        tables: DatabaseTables = Field(default_factory=DatabaseTables, description="Each table's table or view name "
                                       "(\"sf_account\" or \"other_schema.sf_account\"), when not named after the table.")


# Score tiers: the lowest score of each. "mqa" follows [score] cutoff unless tiers are given.
DEFAULT_CUTOFF = 85.0
DEFAULT_TIERS: dict[str, float] = {"nurture": 0.0, "targeted": 60.0, "mqa": 85.0}


def _check_tiers(v):
    if not isinstance(v, dict) or not v or not all(_is_number(x) and 0 <= x <= 100 for x in v.values()):
        raise _problem(f"must map tier names to lowest scores from 0 to 100, not {_shown(v)}")
    if min(v.values()) > 0:
        raise _problem("the lowest tier must start at 0 so every score has a tier")
    return {str(k): float(x) for k, x in v.items()}


class Score(Section):
    """``[score]``: the MQA cutoff and the tiers of the 0-100 score."""

    cutoff: _number(0, 100) = Field(DEFAULT_CUTOFF, description="An account is an MQA at or above this score.")
    tiers: Annotated[dict[str, float] | None, BeforeValidator(_maybe(_check_tiers))] = Field(
        None, description="Tier name = lowest score; default nurture 0, targeted 60, mqa = cutoff.")

    def tier_bounds(self) -> dict[str, float]:
        """The tiers in force: as given, or the default ones with ``mqa`` at the cutoff."""
        return dict(self.tiers) if self.tiers is not None else dict(DEFAULT_TIERS, mqa=self.cutoff)


class Rules(Section):
    """``[rules]``: the two rule-based MQA definitions the training report compares the model with."""

    fit_threshold: _number(0, 1) = Field(0.5, description="Rule (a): fit__icp_score at or above.")
    engagement_threshold: _number(0) = Field(30.0, description="Rule (a): engagement points in 90 days at or above.")
    min_contacts: _whole(0) = Field(2, description="Rule (a): engaged contacts in 90 days at or above.")
    points_threshold: _number(0) = Field(100.0, description="Rule (b): engagement points in 90 days at or above.")


class Evaluation(Section):
    """``[evaluation]``: what sales can take, for the cutoff advice."""

    weekly_capacity: _number(0, optional=True) = Field(None, description="MQAs sales can take per week.")
    precision_target: _number(0, 1, optional=True) = Field(None, description="Share of MQAs that should convert.")
    min_lift: _number(0, optional=True) = Field(2.0, description="Recommend the lowest cutoff where an MQA is this many times "
                                                         "as likely to convert as the average account.")


class Backtest(Section):
    """``[backtest]``: rolling-origin folds and bootstrap intervals."""

    folds: _whole(1, 12) = Field(3, description="Rolling-origin folds at the end of the labelled history.")
    bootstrap: _whole(20, 5000) = Field(200, description="Resamples (by account) for the confidence intervals.")


def _check_families(v):
    # Imported here: the feature registry imports this module.
    from .build import FAMILIES

    if not isinstance(v, _ARRAY) or not v or not all(isinstance(x, str) for x in v) or not set(v) <= set(FAMILIES):
        bad = [x for x in v if x not in FAMILIES] if isinstance(v, _ARRAY) else []
        close = difflib.get_close_matches(str(bad[0]), FAMILIES, n=1) if bad else []
        raise _problem(f"must be a non-empty list drawn from {', '.join(FAMILIES)}, not {_shown(v)}"
                       + _did_you_mean([f"{close[0]!r} for {bad[0]!r}"] if close else []))
    return tuple(v)


def _check_families_or_none(v):
    if isinstance(v, _ARRAY) and not v:
        return ()
    return _check_families(v)


def _check_gain(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not -1 <= v <= 1:
        raise _problem(f"must be a number of ROC-AUC between -1 and 1 such as 0.002, not {_shown(v)}")
    return float(v)


def _default_trials() -> tuple[str, ...]:
    from .families import trial_families

    return trial_families()


def _all_families() -> tuple[str, ...]:
    from .build import FAMILIES

    return FAMILIES


class Model(Section):
    """``[model]``: which feature families the model uses, and which only when the backtest shows they help."""

    families: Annotated[tuple[str, ...], BeforeValidator(_check_families)] = Field(
        default_factory=_all_families, description="Feature families used (default: all).")
    trial_families: Annotated[tuple[str, ...], BeforeValidator(_check_families_or_none)] = Field(
        default_factory=_default_trials, description="Families kept only when the backtest shows they help: each is "
        "tried with and without on the backtest's folds, and left out unless it adds at least family_min_gain "
        "ROC-AUC (default: the families the feature registry marks as on trial).")
    family_min_gain: Annotated[float, BeforeValidator(_check_gain)] = Field(
        0.002, description="ROC-AUC a family on trial must add in the backtest to be kept.")


class Mlflow(Section):
    """``[mlflow]``: where runs and models are tracked."""

    tracking_uri: OptionalText = Field(None, description="MLflow tracking URI (MLFLOW_TRACKING_URI wins; "
                                                        "default: sqlite:///mlflow.db in the working folder).")
    experiment: Text = Field("mqa", description="Experiment name.")
    model_name: Text = Field("mqa-readiness", description="Registered model name.")


def _check_flag(v):
    if not isinstance(v, bool):
        raise _problem(f"must be true or false, not {_shown(v)}")
    return v


def _check_web_url(what: str, secret: bool):
    def check(v):
        if v is None:
            return None
        shown = "the value is not shown: it is a secret" if secret else f"not {_shown(v)}"
        if not isinstance(v, str) or not re.match(r"^https?://[^/\s]+", v.strip()):
            raise _problem(f"must be an http(s) URL ({what}); {shown}")
        return v.strip()
    return check


class Alert(Section):
    """``[alert]``: new-MQA messages to a chat webhook (``mqa alert``; see docs/pipeline.md)."""

    webhook_url: Annotated[str | None, BeforeValidator(_check_web_url("an incoming webhook", secret=True))] = Field(
        None, description="Incoming-webhook URL (Slack or compatible); --webhook and MQA_WEBHOOK_URL win. It is a secret: "
                          "prefer the environment variable to a file.")
    cooldown_days: _whole(0) = Field(14, description="An account announced within this many days is not announced again; "
                                      "nor is one sales rejected or recycled within as many days (see rescore_margin).")
    rescore_margin: _number(0, 100) = Field(10.0, description="A rejected or recycled account is announced within the "
                                            "cooldown only if its score rose by at least this many points since.")
    group_by_owner: Annotated[bool, BeforeValidator(_check_flag)] = Field(
        False, description="One message per owner listing their new MQAs, instead of one per account.")
    report_url: Annotated[str | None, BeforeValidator(_check_web_url("where mqa report's folder is served", secret=False))] = Field(
        None, description="Where the report folder is served; messages link <report_url>/accounts/<page>.")
    retries: _whole(0, 10) = Field(4, description="Retries of a message on 429, 5xx and connection errors.")
    backoff_seconds: _number(0, 60) = Field(1.0, description="Exponential backoff factor between retries.")
    timeout_seconds: _number(0.1, 300) = Field(10.0, description="Timeout of each request.")
    max_retry_after_seconds: _number(0, 3600) = Field(120.0, description="The longest a Retry-After header may make it wait.")


def _check_url_prefixes(v):
    """``{"/path/prefix": "topic"}``: every prefix and topic judged, so all their problems are listed together."""
    if not isinstance(v, dict):
        raise _problem(f"must be a table of URL path prefix = topic, such as {{ \"/solutions/etl\" = \"etl\" }}, "
                       f"not {_shown(v)}")
    found, out = [], {}
    for prefix, topic in v.items():
        key = prefix.strip().lower() if isinstance(prefix, str) else ""
        if not key.startswith("/"):
            # The location stays the key's: "[topics] url_prefixes: ...", the prefix quoted in the text.
            found.append(((), f"{prefix!r}: a prefix must be a URL path starting with \"/\", such as "
                          "\"/solutions/etl\" (the path only: a URL's host and query are not compared)", prefix))
        elif not isinstance(topic, str) or not topic.strip():
            found.append(((), f"{prefix!r}: the topic must be non-empty text, not {_shown(topic)}", topic))
        elif key in out:
            found.append(((), f"{prefix!r}: given twice (prefixes are compared case-insensitively)", prefix))
        else:
            out[key] = topic.strip().lower()
    _problems("url_prefixes", found)
    return out


class Topics(Section):
    """``[topics]``: the topic of an activity that has none, from its URL's path (see docs/data.md)."""

    url_prefixes: Annotated[dict[str, str], BeforeValidator(_check_url_prefixes)] = Field(
        default_factory=dict, description="URL path prefix = topic: an activity without a topic gets the one of the "
        "longest prefix its URL's path starts with (compared case-insensitively; host and query ignored).")


class Dispositions(Section):
    """``[dispositions]``: how sales' verdicts on the MQAs are judged (``mqa dispositions``; see docs/monitoring.md)."""

    sla_hours: _number(0) = Field(72.0, description="Hours sales have to give an MQA a verdict or a first touch; later "
                                  "is an SLA breach, neither within it is an untouched MQA.")


class ConfigFile(Section):
    """The whole file: one field per section, each optional with its defaults."""

    what: ClassVar[str] = "section"
    tables: Tables = Field(default_factory=Tables)
    attributes: Attributes = Field(default_factory=Attributes)
    columns: Columns = Field(default_factory=Columns)
    database: Database = Field(default_factory=Database)
    icp: Icp = Field(default_factory=Icp)
    intent: Intent = Field(default_factory=Intent)
    topics: Topics = Field(default_factory=Topics)
    engagement: Engagement = Field(default_factory=Engagement)
    labels: Labels = Field(default_factory=Labels)
    grid: Grid = Field(default_factory=Grid)
    score: Score = Field(default_factory=Score)
    rules: Rules = Field(default_factory=Rules)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    backtest: Backtest = Field(default_factory=Backtest)
    model: Model = Field(default_factory=Model)
    mlflow: Mlflow = Field(default_factory=Mlflow)
    alert: Alert = Field(default_factory=Alert)
    dispositions: Dispositions = Field(default_factory=Dispositions)

    @classmethod
    def unknown(cls, key: str, path: str) -> str:
        sections = list(cls.model_fields)
        close = difflib.get_close_matches(key, sections, n=1)
        homes = [s for s in sections if key in _section_class(s).model_fields]
        if homes:
            return f"is not a section; it is a key of [{homes[0]}]: write it under [{homes[0]}]"
        return ("unknown section" + _did_you_mean([f"[{c}]" for c in close])
                + f"; the sections are {', '.join(f'[{s}]' for s in sections)}")


def _section_class(name: str) -> type[Section]:
    return ConfigFile.model_fields[name].annotation


def _model_at(path: tuple) -> type[Section] | None:
    """The section model that holds the key at the end of ``path`` (None inside a plain table)."""
    model: type[Section] = ConfigFile
    for part in path:
        info = model.model_fields.get(part) if isinstance(part, str) else None
        if info is None or not (isinstance(info.annotation, type) and issubclass(info.annotation, Section)):
            return None
        model = info.annotation
    return model


def _messages(exc: ValidationError) -> list[str]:
    """One ``[section] key: problem`` line per error, in the file's order."""
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]" and not isinstance(p, int))
        path = tuple(str(p) for p in loc)
        value = err.get("input")
        kind = err["type"]
        is_table = isinstance(value, dict) or kind in ("model_type", "model_attributes_type", "dict_type")
        if kind == "mqa":
            text = err["ctx"]["problem"]
        elif kind == "extra_forbidden":
            owner = _model_at(loc[:-1])
            text = (owner.unknown(path[-1], ".".join(path[:-1])) if owner is not None
                    else "unknown key")
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            table = ".".join(path)
            text = f"must be a table ([{table}] with its keys below it), not {_shown(value)}"
            is_table = False
        else:  # a pydantic check without a message of ours: its own words
            text = f"{err['msg'].lower()}, not {_shown(value)}"
        if not path:
            out.append(text)
        elif is_table or len(path) == 1:
            if kind == "extra_forbidden" and len(path) == 1 and not isinstance(value, dict):
                out.append(f"{path[0]}: {text}")  # a key outside any section
            else:
                out.append(f"[{'.'.join(path)}]: {text}")
        else:
            out.append(f"[{'.'.join(path[:-1])}] {path[-1]}: {text}")
    return out


def validate_document(document: dict, source: str = "config") -> ConfigFile:
    """Check a parsed TOML document against the schema.

    Parameters
    ----------
    document : dict
        The parsed file (``tomllib.loads``), or the same shape written in a notebook.
    source : str
        Where it came from, for the message.

    Returns
    -------
    ConfigFile

    Raises
    ------
    ConfigError
        Listing every problem at once.
    """
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: must be a table of sections (a dict), not {_shown(document)}")
    try:
        return ConfigFile.model_validate(document, context={"declared": declared_names(document)})
    except ValidationError as exc:
        raise ConfigError(f"{source}:\n" + "\n".join(f"  - {m}" for m in _messages(exc))) from None


# --- what the rest of the code reads ------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """A validated configuration.

    Parameters
    ----------
    columns : dict
        ``{table: {contract_column: user_column}}``, the renamed columns.
    features : FeatureSettings
        What the feature builders and labels are tuned by.
    raw : dict
        The parsed document, as given.
    source : str or None
        The file it came from.
    tables : dict
        ``{table: file name}`` of the tables whose file is not named after the table (``[tables]``).
    joins : dict
        ``{table: {contract_column: (user columns...)}}``: contract columns made by
        joining several of the user's columns with a space (``name = ["FirstName", "LastName"]``).
    file : ConfigFile
        The whole validated document, every section with its defaults
        (:func:`mqa.train.settings.train_settings` reads the training sections from it).
    """

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    raw: dict = field(default_factory=dict)
    source: str | None = None
    tables: dict[str, str] = field(default_factory=dict)
    joins: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    file: ConfigFile = field(default_factory=ConfigFile)

    @property
    def icp_is_default(self) -> bool:
        """Whether the ideal customer profile is the built-in one (the synthetic generator's market)."""
        d, s = FeatureSettings(), self.features
        return (s.icp_industries, s.icp_employees, s.icp_technologies) == (
            d.icp_industries, d.icp_employees, d.icp_technologies)


def icp_notice(config: Config) -> str | None:
    """One line for ``mqa train`` when the ICP is the built-in default, else None."""
    if not config.icp_is_default:
        return None
    return ("Notice: the ideal customer profile is the built-in default ([icp] not set), which describes the synthetic "
            "generator's market; set your own in the configuration ('mqa init' writes one to start from).")


def load_config(source: str | Path | dict | None) -> Config:
    """Read and check a configuration; ``None`` gives the defaults.

    Parameters
    ----------
    source : path, dict or None
        A TOML file, or a parsed document (a dict of sections, as in a
        notebook), or None for the defaults.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        The file is missing, unreadable or not TOML, or breaks the schema;
        every problem is listed at once, as ``[section] key: problem``.
    """
    if source is None:
        return Config()
    if isinstance(source, dict):
        return config_from(source, "config (a dict)")
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"config {path}: no such file; pass the path of a TOML file ('mqa init' writes one).")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8.") from None
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot be read ({exc.strerror}); check the path and its permissions.") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML ({exc}).") from None
    return config_from(document, f"config {path}", str(path))


def config_from(document: dict, where: str = "config", source: str | None = None) -> Config:
    """A :class:`Config` from a parsed document; ``where`` names it in the message."""
    checked = validate_document(document, where)
    columns: dict[str, dict[str, str]] = {}
    joins: dict[str, dict[str, tuple[str, ...]]] = {}
    for table in TABLES:
        for col, user in getattr(checked.columns, table).items():
            if isinstance(user, tuple):
                joins.setdefault(table, {})[col] = user
            else:
                columns.setdefault(table, {})[col] = user
    return Config(columns=columns, features=feature_settings(checked), raw=document, source=source,
                  tables=checked.tables.names(), joins=joins, file=checked)


def feature_settings(checked: ConfigFile) -> FeatureSettings:
    """The :class:`FeatureSettings` of a validated document."""
    labels = checked.labels
    return FeatureSettings(
        icp_industries=checked.icp.industries,
        icp_employees=checked.icp.employees,
        icp_technologies=checked.icp.technologies,
        relevant_topics=checked.intent.relevant_topics,
        weights=dict(DEFAULT_WEIGHTS, **checked.engagement.weights),
        committee=(dict(checked.engagement.committee) if checked.engagement.committee is not None
                   else dict(DEFAULT_COMMITTEE)),
        horizon_days=labels.horizon_days,
        label_types=labels.opportunity_types,
        step_days=checked.grid.step_days,
        label_excluded_types=(labels.exclude_types if labels.exclude_types is not None
                              else FeatureSettings().label_excluded_types),
        warmup_days=checked.grid.warmup_days,
        attributes=tuple(checked.attributes.accounts.items()),
        topic_url_prefixes=tuple(sorted(checked.topics.url_prefixes.items())),
    )
