"""What every feature function receives: the grid, the tables placed on it, the settings.

The tables are prepared once here (events on the grid, each activity's person,
department and seniority) so that the feature functions stay small and pure.
Nothing here changes a time zone or looks past ``as_of``: that is the window
helper's job.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from .config import FeatureSettings
from .families import FAMILIES_BY_NAME
from .history import History
from .window import Events, Grid, events
from .wording import Template


class Context:
    """Inputs of the feature functions for one grid of accounts by as-of dates.

    Parameters
    ----------
    history : History
        A validated CRM history.
    grid : Grid
        Accounts by as-of dates.
    settings : FeatureSettings
        ICP, weights, topics and committee roles.
    """

    def __init__(self, history: History, grid: Grid, settings: FeatureSettings):
        self.history = history
        self.grid = grid
        self.settings = settings
        self._cache: dict = {}

    def memo(self, key, compute):
        """``compute()`` once per key: several features share one aggregate."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # --- accounts -----------------------------------------------------------
    @cached_property
    def accounts(self) -> pd.DataFrame:
        """Accounts in grid row order."""
        return self.history["accounts"].set_index("account_id").reindex(self.grid.accounts)

    def per_account(self, values) -> np.ndarray:
        """Broadcast one value per account to the ``(accounts, dates)`` grid."""
        values = np.asarray(values)
        return np.broadcast_to(values[:, None], self.grid.shape)

    # --- activities ---------------------------------------------------------
    @cached_property
    def activity_events(self) -> Events:
        a = self.history["activities"]
        return events(self.grid, a["account_id"], a["timestamp"])

    @cached_property
    def activity_codes(self) -> "ActivityCodes":
        """Activity attributes as integer codes aligned with :attr:`activity_events`."""
        return ActivityCodes.build(self.history, self.activity_events)

    def activities_where(self, mask: np.ndarray) -> Events:
        """Activity events where ``mask`` (aligned with the events) is true."""
        return self.activity_events.subset(mask)

    # --- intent, signals, opportunities ------------------------------------
    @cached_property
    def intent_events(self) -> Events:
        i = self.history["intent"]
        return events(self.grid, i["account_id"], i["date"])

    def intent_column(self, name: str) -> np.ndarray:
        return self.intent_events.take(self.history["intent"][name])

    @cached_property
    def signal_events(self) -> Events:
        s = self.history["signals"]
        return events(self.grid, s["account_id"], s["date"])

    def signal_column(self, name: str) -> np.ndarray:
        return self.signal_events.take(self.history["signals"][name])

    def opportunity_events(self, when: str, mask=None) -> Events:
        """Opportunities placed at ``created_at`` or ``closed_at``, optionally filtered."""
        o = self.history["opportunities"]
        if mask is not None:
            o = o[np.asarray(mask, dtype=bool)]
        return events(self.grid, o["account_id"], o[when])


class ActivityCodes:
    """Activity attributes as integer codes (-1 = missing), aligned with the activity events.

    Strings are encoded once, here: comparing codes is what keeps the feature
    functions fast on millions of activities.

    Attributes
    ----------
    type, person, department, seniority : ndarray of int
        Codes; ``*_names`` give the value of each code. ``person`` is the
        contact, or for an email-only activity the contact with that email,
        else the email itself; -1 for anonymous (account-level) activity.
    minutes : ndarray of float
    """

    def __init__(self, **arrays):
        self.__dict__.update(arrays)

    def code_of(self, field: str, value: str) -> int:
        """The code of ``value`` in ``field`` (-2, matching nothing, if absent)."""
        names = list(getattr(self, f"{field}_names"))
        return names.index(value) if value in names else -2

    def codes_of(self, field: str, values) -> np.ndarray:
        """Codes of several values (absent ones are left out)."""
        names = list(getattr(self, f"{field}_names"))
        return np.array([names.index(v) for v in values if v in names], dtype=np.int64)

    @classmethod
    def build(cls, history: History, ev: Events) -> "ActivityCodes":
        a = history["activities"]
        contacts = history["contacts"]
        keep = ev.keep
        ts = ev.t
        kind_codes, kind_names = pd.factorize(a["type"])
        contact_pos = pd.Index(contacts["contact_id"]).get_indexer(a["contact_id"])[keep]
        # An email-only activity is the contact with that email, where there is one.
        email = a["email"].to_numpy()[keep] if len(a) else np.empty(0, dtype=object)
        # Contacts sharing an email: the earliest created (then smallest id) is the person.
        ranked = contacts.sort_values(["created_at", "contact_id"], na_position="last", kind="stable")
        chosen = ranked.index[ranked["email"].notna() & ~ranked["email"].duplicated()]
        first = contacts.index.isin(chosen)
        hit = pd.Index(contacts["email"][first]).get_indexer(pd.Series(email, dtype="str"))
        by_email = np.where(hit >= 0, np.flatnonzero(first)[np.maximum(hit, 0)] if first.any() else -1, -1)
        contact_pos = np.where(contact_pos >= 0, contact_pos, by_email)
        email_codes, _ = pd.factorize(pd.Series(email, dtype="str"))
        person = np.where(contact_pos >= 0, contact_pos,
                          np.where(email_codes >= 0, len(contacts) + email_codes, -1)).astype(np.int64)
        # What the CRM knew of a person at the activity's time: a contact
        # record created later does not lend its department or seniority.
        created = pd.DatetimeIndex(contacts["created_at"]).as_unit("ns").asi8 if len(contacts) else np.empty(0, np.int64)
        has_created = contacts["created_at"].notna().to_numpy()
        ok = contact_pos >= 0
        known = ok.copy()
        known[ok] = ~has_created[contact_pos[ok]] | (created[contact_pos[ok]] <= ts[ok])
        dept_codes, dept_names = pd.factorize(contacts["department"])
        sen_codes, sen_names = pd.factorize(contacts["seniority"])
        department = np.where(known, dept_codes[np.maximum(contact_pos, 0)] if len(contacts) else -1, -1)
        seniority = np.where(known, sen_codes[np.maximum(contact_pos, 0)] if len(contacts) else -1, -1)
        return cls(
            type=kind_codes[keep], type_names=list(kind_names),
            person=person,
            department=department.astype(np.int64), department_names=list(dept_names),
            seniority=seniority.astype(np.int64), seniority_names=list(sen_names),
            minutes=a["minutes"].to_numpy(dtype=float)[keep],
        )


class Feature:
    """One named feature, defined once: its column name, family, function, meaning, inputs and wording.

    ``compute(ctx)`` returns an ``(accounts, dates)`` array (float, or object
    for a categorical feature such as industry).

    ``sources`` are the inputs the feature is computed from, as
    ``"table.column"``; an entry ``"a.x|a.y"`` is satisfied by either column.
    A history that lacks one of them (no table, an empty table, or a column
    that is absent or empty in every row) leaves the feature without signal:
    see :mod:`mqa.features.inputs`.

    ``template`` is how a value is said to a sales rep
    (:class:`~mqa.features.wording.Template`, rendered by
    :func:`mqa.predict.sentences.sentences`). The family, the prefix of the
    name, must be one of :mod:`mqa.features.families`.
    """

    __slots__ = ("name", "family", "compute", "description", "categorical", "sources", "template")

    def __init__(self, name: str, compute, description: str, categorical: bool = False,
                 sources: tuple[str, ...] = (), template: Template | None = None):
        family, sep, _ = name.partition("__")
        if not sep:
            raise ValueError(f"feature name {name!r} must read family__measure_window")
        if family not in FAMILIES_BY_NAME:
            raise ValueError(f"feature {name!r}: no family {family!r}; the families are {', '.join(FAMILIES_BY_NAME)} "
                             "(mqa.features.families)")
        self.name = name
        self.family = family
        self.compute = compute
        self.description = description
        self.categorical = categorical
        bad = [s for s in sources for part in s.split("|") if part.count(".") != 1]
        if bad:
            raise ValueError(f"feature {name!r}: sources must read table.column, not {bad[0]!r}")
        self.sources = tuple(sources)
        if not isinstance(template, Template):
            raise ValueError(f"feature {name!r}: needs a template, how its value is said (mqa.features.wording.Template)")
        self.template = template

    def __repr__(self) -> str:
        return f"Feature({self.name!r})"
