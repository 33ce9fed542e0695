"""The entry point: :func:`generate_history` runs the simulation's stages in their fixed order."""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
import pandas as pd

from .accounts import make_accounts
from .artefacts import finish_activities
from .buying_groups import check_params, opportunity_contacts_frame, topical_activities, truth_frame
from .columns import id_strings, str_column
from .dispositions import dispositions_frame
from .draws import pick, random_id_values
from .engagement import simulate_activities
from .grid import DEFAULT_END, DEFAULT_START, make_grid
from .intent import intent_rows
from .params import SynthParams
from .people import person_identity
from .pipeline import simulate_pipeline
from .signals import latent_events, signal_rows
from .tables import (
    accounts_frame,
    activities_frame,
    contacts_frame,
    intent_frame,
    opportunities_frame,
    signals_frame,
)
from .vocab import OWNERS


@overload
def generate_history(
    n_accounts: int = ..., seed: int = ..., start=..., end=..., *, params: SynthParams | None = ...,
    with_truth: Literal[False] = ...,
) -> dict[str, pd.DataFrame]: ...


@overload
def generate_history(
    n_accounts: int = ..., seed: int = ..., start=..., end=..., *, params: SynthParams | None = ...,
    with_truth: Literal[True],
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]: ...


def generate_history(
    n_accounts: int = 2000, seed: int = 0, start=DEFAULT_START, end=DEFAULT_END, *, params: SynthParams | None = None,
    with_truth: bool = False,
) -> dict[str, pd.DataFrame] | tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Generate a synthetic CRM history in the shape of ``DATA_CONTRACT.md``.

    Parameters
    ----------
    n_accounts : int, default 2000
        Number of accounts (companies). Other tables scale with it: about 9
        contacts, 190 activities, 35 intent rows and 0.5 opportunities per
        account.
    seed : int, default 0
        Seed of the one random generator behind every draw; the same arguments
        give identical tables.
    start, end : date-like, default ``DEFAULT_START``, ``DEFAULT_END``
        First and last day (inclusive, UTC) of the history. Activities, intent
        and signals are stamped in ``[start, end + 1 day)``. Accounts and
        contacts may be created before ``start``, and so may opportunities
        (the won deals of the customers the history opens with, and those of
        a half-year run-in), as in a CRM export: the history opens with
        customers and open pipeline.
    params : SynthParams, optional
        The constants of the weekly market run; default ``SynthParams()``,
        the market the project's tests and figures are measured on. With
        ``params.buying_groups.enabled``, large accounts run parallel buying
        groups on different product lines
        (:mod:`~mqa.features.synth.buying_groups`): activities get a
        ``topic`` column and the tables an ``opportunity_contacts`` table.
        Those draws come from a stream of their own, but the cycles they add
        move every table.
    with_truth : bool, default False
        Also return who belonged to which buying cycle.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        ``accounts``, ``contacts``, ``activities``, ``intent``, ``signals``,
        ``opportunities`` and ``dispositions`` (sales' verdicts on the
        accounts handed over, :mod:`~mqa.features.synth.dispositions`), and
        with buying groups ``opportunity_contacts`` (before
        ``dispositions``), with exactly the contract's columns. Ids and text are
        ``str`` columns with missing values for empty cells, timestamps are
        ``datetime64[ns, UTC]``, ``employees`` and intent ``score`` are
        ``int64``, ``annual_revenue``, ``minutes`` and ``amount`` are
        ``float64`` (NaN when unknown) and ``is_won`` is a nullable
        ``boolean`` (NA while the opportunity is open). Rows are ordered by
        id (accounts, contacts), by time then id (activities, opportunities)
        or by date (intent, signals), with a fresh ``RangeIndex``.
    truth : pandas.DataFrame
        Only with ``with_truth``: one row per committee member of every
        cycle, new business and expansion, run-in included: ``account_id``,
        ``person`` (the contact id of a CRM contact, else the email: the key
        activities name the person by), ``contact_id``, ``email``, ``group``
        (the cycle, an int unique in the history), ``topic`` (its product
        line; missing without buying groups and for expansion cycles),
        ``start``, ``end`` (UTC, the committee's active weeks
        ``[start, end)``) and ``converts``. Asking for it draws nothing: the
        tables are the same either way.

    Raises
    ------
    ValueError
        ``n_accounts`` is not a positive integer, ``seed`` is not a
        non-negative integer, ``start``/``end`` are not dates at least 28
        days apart, or buying groups are on with constants the run cannot
        play.
    """
    if isinstance(n_accounts, bool) or not isinstance(n_accounts, (int, np.integer)) or n_accounts < 1:
        raise ValueError(f"n_accounts must be a positive integer; got {n_accounts!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    params = SynthParams() if params is None else params
    if not isinstance(params, SynthParams):
        raise ValueError(f"params must be a SynthParams; got {type(params).__name__}")
    groups = params.buying_groups
    if groups.enabled:
        check_params(groups)
    grid = make_grid(start, end, params.run_in_weeks)
    rng = np.random.default_rng(int(seed))
    # Buying groups draw from a stream of their own, and only when on: off,
    # the run makes exactly the draws it made before they existed.
    groups_rng = np.random.default_rng([int(seed), 0xB6]) if groups.enabled else None

    acc = make_accounts(rng, int(n_accounts), grid)
    events = latent_events(rng, acc, grid)
    cycles, opp, customers, limits = simulate_pipeline(rng, acc, events, grid, params, groups_rng)
    ev, pt, committees = simulate_activities(rng, acc, cycles, customers, grid)
    ev = finish_activities(rng, ev, pt)
    if groups_rng is not None:
        ev = topical_activities(groups_rng, ev, cycles, committees, pt, groups)

    ident = person_identity(rng, acc, pt)
    contact_values = random_id_values(rng, len(pt["acct"]), 10)
    contact_ids = id_strings("C", contact_values, 10)
    # One table after the other, in this order: the main stream's draws follow it.
    tables = {"accounts": accounts_frame(rng, acc, grid)}
    tables["contacts"] = contacts_frame(rng, acc, pt, ident, contact_ids, contact_values, grid)
    tables["activities"] = activities_frame(acc, ev, ident[1], contact_ids, grid, topics=groups.enabled)
    tables["intent"] = intent_frame(rng, acc, intent_rows(rng, acc, cycles, grid), grid)
    tables["signals"] = signals_frame(rng, acc, signal_rows(rng, acc, events, limits, grid), grid)
    tables["opportunities"], opp_cycle = opportunities_frame(rng, acc, opp, grid)
    if groups_rng is not None:
        tables["opportunity_contacts"] = opportunity_contacts_frame(groups_rng, committees, pt, tables["opportunities"],
                                                                    opp_cycle, contact_ids, groups)
    # Owners come from a stream of their own, so adding them changed no other
    # table (nor any model trained on the same seed).
    owner_rng = np.random.default_rng([int(seed), 0x0A11])
    tables["accounts"]["owner"] = str_column(pick(owner_rng, OWNERS, acc.n), owner_rng.random(acc.n) < 0.03)
    # Dispositions too: a stream of their own leaves every other table as it was.
    owners = tables["accounts"].set_index("account_id")["owner"]
    tables["dispositions"] = dispositions_frame(np.random.default_rng([int(seed), 0xD15]), acc, cycles, grid, owners)
    if with_truth:
        return tables, truth_frame(acc, cycles, committees, pt, ident[1], contact_ids, grid)
    return tables
