"""Which inputs a history provides, and which features they feed.

Real exports are partial: no intent feed, no contacts, accounts without
``technologies``. An input is a ``"table.column"``; a history provides it when
the table is in the folder with rows and the column holds a value in at least
one row (columns derived while reading count: a contact's department derived
from its title is provided). Each feature names its inputs on itself
(:attr:`~mqa.features.context.Feature.sources`); a feature is usable when the
history provides every one of them, else it would be a column without signal.

Training learns from the usable features only and records their inputs
(:func:`feature_inputs`); prediction refuses a model only when the history
lacks one of them.
"""

from __future__ import annotations

from .attributes import attribute_sources
from .build import FEATURES_BY_NAME, feature_names
from .history import History

# Columns read derives when they are empty: where they come from.
_DERIVED = {"contacts.department": "title", "contacts.seniority": "title",
            "activities.topic": "url matching [topics] url_prefixes"}
MAX_NAMED = 3


def provided_inputs(history: History) -> frozenset[str]:
    """The ``"table.column"`` inputs ``history`` provides: table with rows, column not empty in every row.

    A part of a history (a Spark bucket) carries the whole history's inputs
    in :attr:`History.inputs`, and those are returned.
    """
    given = getattr(history, "inputs", None)
    if given is not None:
        return frozenset(given)
    out: set[str] = set()
    for name in history.present:
        table = history[name]
        if len(table):
            have = table.notna().any()
            out.update(f"{name}.{col}" for col in have.index[have.to_numpy(dtype=bool)])
    return frozenset(out)


def sources_of(name: str) -> tuple[str, ...]:
    """The inputs of one feature (registered or ``attribute__<column>``).

    Raises
    ------
    KeyError
        ``name`` is no feature of this version.
    """
    if name in FEATURES_BY_NAME:
        return FEATURES_BY_NAME[name].sources
    attr = attribute_sources(name)
    if attr is None:
        raise KeyError(f"no feature {name!r} in this version of mqa")
    return attr


def feature_inputs(names) -> list[str]:
    """The sorted inputs the features ``names`` need (the bundle records them as ``training["inputs"]``).

    An entry ``"a.x|a.y"`` is satisfied by either column.
    """
    return sorted({s for n in names for s in sources_of(n)})


def lacking_inputs(sources, provided: frozenset[str]) -> list[str]:
    """The entries of ``sources`` that ``provided`` does not satisfy (an ``"a|b"`` entry needs one of them)."""
    return [s for s in sources if not any(part in provided for part in s.split("|"))]


def _lack(history: History, source: str) -> tuple[str, str, str]:
    """Why ``history`` lacks an input: ``(table, what, why)``; ``what`` is empty when the whole table is missing."""
    parts = source.split("|")
    table = parts[0].split(".")[0]
    if table not in history.present:
        return table, "", "no table"
    if not len(history[table]):
        return table, "", "no rows"
    cols = [p.split(".", 1)[1] for p in parts]
    what = f"neither {' nor '.join(cols)}" if len(cols) > 1 else cols[0]
    given = getattr(history, "columns", {}).get(table)
    if not given:
        return table, what, ""
    absent = [c for c in cols if c not in given]
    if source in _DERIVED:
        why = f"not given, and no {_DERIVED[source]} to derive it from"
    elif len(absent) == len(cols):
        why = "not in the file"
    elif not absent:
        why = "empty in every row"
    else:
        why = "absent or empty in every row"
    return table, what, why


def describe_input(history: History, source: str) -> str:
    """Why ``history`` lacks an input, in words: "no intent table", "accounts have no technologies (not in the file)"."""
    return _say([_lack(history, source)])[0]


def _say(lacks: list[tuple[str, str, str]]) -> list[str]:
    """Reasons in words; columns of one table missing for one cause are named together."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for table, what, why in lacks:
        cols = grouped.setdefault((table, why), [])
        if what not in cols:
            cols.append(what)
    out = []
    for (table, why), cols in grouped.items():
        if why == "no table":
            out.append(f"no {table} table")
        elif why == "no rows":
            out.append(f"the {table} table has no rows")
        else:
            listed = ", ".join(cols)
            out.append(f"{table} have {listed if listed.startswith('neither') else 'no ' + listed}" + (f" ({why})" if why else ""))
    return out


def usable_features(history: History, names=None) -> tuple[list[str], list[str]]:
    """The features ``history`` can feed, and notes on the ones it cannot.

    Parameters
    ----------
    history : History
    names : list of str, optional
        Candidate features (default: the registry and the history's declared
        attributes, :attr:`History.attributes`).

    Returns
    -------
    usable : list of str
        ``names`` whose every input the history provides, in their order.
    notes : list of str
        One line per family with features left out: what is empty and why,
        e.g. "intent: no intent table; 8 of 8 intent features left out (...)".
    """
    if names is None:
        names = feature_names() + [f"attribute__{col}" for col, _ in getattr(history, "attributes", ())]
    provided = provided_inputs(history)
    usable: list[str] = []
    by_family: dict[str, dict] = {}
    for name in names:
        entry = by_family.setdefault(name.split("__")[0], {"total": 0, "left": [], "lacks": []})
        entry["total"] += 1
        lacking = lacking_inputs(sources_of(name), provided)
        if not lacking:
            usable.append(name)
            continue
        entry["left"].append(name)
        entry["lacks"].extend(_lack(history, s) for s in lacking)
    notes = []
    for family, e in by_family.items():
        if e["left"]:
            shown = ", ".join(e["left"][:MAX_NAMED]) + (", ..." if len(e["left"]) > MAX_NAMED else "")
            notes.append(f"{family}: {'; '.join(_say(e['lacks']))}; {len(e['left'])} of {e['total']} {family} "
                         f"features left out ({shown})")
    return usable, notes
