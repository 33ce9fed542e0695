"""The feature families: each defined once, with its labels, meaning and source tables.

A feature's family is the prefix of its name (``engagement__points_30d``);
:class:`~mqa.features.context.Feature` refuses a prefix that is not here. The
report's headings, the families a model may be trained on and the engagement
streams that say how far the data reaches (:func:`engagement_streams`) are
all read from :data:`FAMILY_REGISTRY`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """One feature family.

    Parameters
    ----------
    name : str
        The column prefix (``fit``, ``engagement``, ...).
    label : str
        The report's heading for it ("Fit: who they are").
    short : str
        Its label in the report's waterfall, where space is short.
    description : str
        What the family measures, in one line.
    tables : tuple of str
        The history tables its features are computed from (their
        :attr:`~mqa.features.context.Feature.sources`' tables).
    streams : tuple of str
        The event times (``"table.column"``) of the engagement it reads:
        where they stop, its accounts look quiet only because nothing more
        was recorded.
    trial : bool
        Kept in a model only when the backtest shows it helps (see
        :func:`mqa.train.pipeline.family_trials`); the model report says
        which way it went.
    """

    name: str
    label: str
    short: str
    description: str
    tables: tuple[str, ...]
    streams: tuple[str, ...] = ()
    trial: bool = False


def trial_families() -> tuple[str, ...]:
    """The families a model keeps only when the backtest shows they help."""
    return tuple(f.name for f in FAMILY_REGISTRY if f.trial)


FAMILY_REGISTRY: tuple[Family, ...] = (
    Family("fit", "Fit: who they are", "Fit", "how closely the account matches the ideal customer profile",
           ("accounts",)),
    Family("engagement", "Engagement: what their people did", "Engagement",
           "how much the account engaged, and how many of its people", ("activities", "contacts"),
           streams=("activities.timestamp",)),
    Family("intent", "Third-party intent", "Intent", "third-party research surges on the product's topics",
           ("intent",), streams=("intent.date",)),
    Family("timing", "Timing signals", "Timing", "trigger events and the rhythm of engagement",
           ("signals", "activities"), streams=("activities.timestamp", "signals.date")),
    Family("history", "History with us", "History", "earlier opportunities: recent losses, already a customer",
           ("opportunities",)),
    Family("dispositions", "Sales' verdicts", "Dispositions",
           "what sales said when the account was handed over: rejected, recycled", ("dispositions",), trial=True),
    Family("buying_group", "Buying groups: who inside wants what", "Buying groups",
           "the account's buying groups: how many, the largest one's size, seniority and likeness to won deals' groups",
           ("activities", "contacts", "opportunities", "opportunity_contacts"), streams=("activities.timestamp",),
           trial=True),
    Family("attribute", "Your CRM's own fields", "Own fields",
           "the CRM's own account fields the configuration declares", ("accounts",)),
)
FAMILIES_BY_NAME: dict[str, Family] = {f.name: f for f in FAMILY_REGISTRY}
FAMILIES: tuple[str, ...] = tuple(FAMILIES_BY_NAME)


def family(name: str) -> Family:
    """The family called ``name``.

    Raises
    ------
    KeyError
        No such family; the message lists the families there are.
    """
    if name not in FAMILIES_BY_NAME:
        raise KeyError(f"no feature family {name!r}; the families are {', '.join(FAMILIES)}")
    return FAMILIES_BY_NAME[name]


def engagement_streams() -> tuple[tuple[str, str], ...]:
    """Every family's engagement event times as ``(table, column)``, each once, in family order."""
    seen = dict.fromkeys(s for f in FAMILY_REGISTRY for s in f.streams)
    return tuple(tuple(s.split(".", 1)) for s in seen)
