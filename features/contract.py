"""The CRM history contract: tables, columns, types and rules.

This module is the code form of ``DATA_CONTRACT.md``. Every reader and check in
:mod:`mqa.features` takes table and column facts from here, never from how one
generator happens to write its files.
"""

from __future__ import annotations

from dataclasses import dataclass

ID = "id"
TIMESTAMP = "timestamp"
NUMBER = "number"
INTEGER = "integer"
BOOL = "bool"
STRING = "string"
DOMAIN = "domain"
EMAIL = "email"


@dataclass(frozen=True)
class Column:
    """One contract column.

    Parameters
    ----------
    name : str
        Contract name, lower case.
    kind : str
        One of ``id``, ``timestamp``, ``number``, ``integer``, ``bool``,
        ``string``, ``domain``, ``email``.
    required : bool
        The column must be present and every row must have a value.
    unique : bool
        Values must be unique (primary ids).
    minimum, maximum : float or None
        Inclusive numeric bounds.
    personal : bool
        Holds a person's data: its values are never echoed in messages or logs.
    choices : tuple of str
        The values allowed, in lower case; values are trimmed and compared
        case-insensitively, and read in this spelling. Empty: any value.
    declared : bool
        Not a contract column but a field the configuration declares as an
        attribute: the file must have it, its values may be empty.
    """

    name: str
    kind: str
    required: bool = False
    unique: bool = False
    minimum: float | None = None
    maximum: float | None = None
    personal: bool = False
    choices: tuple[str, ...] = ()
    declared: bool = False


@dataclass(frozen=True)
class Table:
    """One contract table: its columns and the groups of which one is needed."""

    name: str
    columns: tuple[Column, ...]
    one_of: tuple[tuple[str, ...], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The contract's column names, in contract order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table '{self.name}' has no column '{name}'")


TABLES: dict[str, Table] = {
    "accounts": Table(
        "accounts",
        (
            Column("account_id", ID, required=True, unique=True),
            Column("name", STRING),
            Column("domain", DOMAIN),
            Column("industry", STRING),
            Column("employees", INTEGER, minimum=0),
            Column("annual_revenue", NUMBER, minimum=0),
            Column("country", STRING),
            Column("technologies", STRING),
            Column("created_at", TIMESTAMP),
            # Not in the contract's column list, but the report issue filters
            # by it where it exists; it is read as a plain string when present.
            Column("owner", STRING),
        ),
    ),
    "contacts": Table(
        "contacts",
        (
            Column("contact_id", ID, required=True, unique=True),
            Column("account_id", ID),
            Column("name", STRING, personal=True),
            Column("email", EMAIL, personal=True),
            Column("title", STRING),
            Column("seniority", STRING),
            Column("department", STRING),
            # Shown to reps on the report's people table, nowhere else: never a feature.
            Column("phone", STRING, personal=True),
            Column("linkedin_url", STRING, personal=True),
            Column("created_at", TIMESTAMP),
        ),
    ),
    "activities": Table(
        "activities",
        (
            Column("activity_id", ID),
            Column("timestamp", TIMESTAMP, required=True),
            Column("type", STRING, required=True),
            Column("contact_id", ID),
            Column("account_id", ID),
            Column("email", EMAIL, personal=True),
            Column("url", STRING),
            Column("minutes", NUMBER, minimum=0),
            # For reps (the report's content list) and never a feature: plain text.
            Column("title", STRING),
            Column("topic", STRING),
        ),
    ),
    "intent": Table(
        "intent",
        (
            Column("account_id", ID),
            Column("domain", DOMAIN),
            Column("date", TIMESTAMP, required=True),
            Column("topic", STRING, required=True),
            Column("score", NUMBER, required=True, minimum=0, maximum=100),
        ),
        one_of=(("account_id", "domain"),),
    ),
    "signals": Table(
        "signals",
        (
            Column("account_id", ID),
            Column("domain", DOMAIN),
            Column("date", TIMESTAMP, required=True),
            Column("type", STRING, required=True),
            Column("detail", STRING),
        ),
        one_of=(("account_id", "domain"),),
    ),
    "opportunities": Table(
        "opportunities",
        (
            Column("opportunity_id", ID, required=True, unique=True),
            Column("account_id", ID, required=True),
            Column("created_at", TIMESTAMP, required=True),
            Column("closed_at", TIMESTAMP),
            Column("stage", STRING),
            Column("is_won", BOOL),
            Column("amount", NUMBER, minimum=0),
            Column("type", STRING),
        ),
    ),
    # Who was on each opportunity, and in which role (Salesforce's
    # OpportunityContactRole): what the persona templates learn from. A row
    # has no time of its own: it is known from its opportunity's created_at.
    "opportunity_contacts": Table(
        "opportunity_contacts",
        (
            Column("opportunity_id", ID, required=True),
            Column("contact_id", ID, required=True),
            Column("role", STRING),
            Column("is_primary", BOOL),
        ),
    ),
    # Sales' verdict on an MQA handed to them (Demandbase's dispositioning
    # playbook): read for the disposition summaries and the alert cooldown,
    # never a feature (yet).
    "dispositions": Table(
        "dispositions",
        (
            Column("account_id", ID, required=True),
            Column("date", TIMESTAMP, required=True),
            Column("disposition", STRING, required=True, choices=("accepted", "rejected", "recycled")),
            Column("reason", STRING),
            Column("owner", STRING),
        ),
    ),
}

TABLE_ORDER: tuple[str, ...] = tuple(TABLES)

# Tables a purpose cannot do without. Prediction may run without
# opportunities: they only mark accounts already in pipeline.
REQUIRED_TABLES: dict[str, tuple[str, ...]] = {
    "train": ("accounts", "opportunities"),
    "predict": ("accounts",),
}

ACTIVITY_TYPES: tuple[str, ...] = (
    "web_visit",
    "pricing_page_visit",
    "content_download",
    "webinar_registered",
    "webinar_attended",
    "email_open",
    "email_click",
    "ad_click",
    "form_fill",
    "demo_request",
    "event_attended",
    "trial_signup",
    "product_usage",
)

# Sales' own touches, as a CRM logs a rep's tasks (Salesforce Task and HubSpot
# engagement types; a marketing email is email_open/email_click): ``other`` to
# the features, as the contract says of any type outside its vocabulary, but
# not reported as unknown, and marked ``sales_touch`` so that the disposition
# summaries can time the first of them after an account became an MQA.
SALES_ACTIVITY_TYPES: tuple[str, ...] = ("call", "email", "meeting")

# Activity types outside the vocabulary are kept under this name and reported.
OTHER_ACTIVITY = "other"

SIGNAL_TYPES: tuple[str, ...] = (
    "executive_hire",
    "funding_round",
    "hiring_surge",
    "technology_added",
    "technology_removed",
    "layoff",
    "acquisition",
    "product_limit_reached",
)

SENIORITIES: tuple[str, ...] = ("c_level", "vp", "director", "manager", "individual")

# The departments DATA_CONTRACT.md names for contacts.department. Readers keep
# any other value as it is; the order carries no meaning.
DEPARTMENTS: tuple[str, ...] = (
    "it",
    "engineering",
    "finance",
    "procurement",
    "marketing",
    "sales",
    "operations",
    "executive",
    "hr",
)

# The opportunity types DATA_CONTRACT.md names; the label may count only some.
OPPORTUNITY_TYPES: tuple[str, ...] = ("new_business", "expansion", "renewal")

SURGE_THRESHOLD = 60.0
