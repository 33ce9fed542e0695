"""Attributes: a CRM's own account fields, declared in the configuration, as features.

``[attributes.accounts]`` declares them (``lead_source = "category"``,
``seats = "number"``); nothing undeclared ever reaches a model. Like fit,
they are read off the accounts table, a snapshot: an attribute is treated as
known at every as-of date since the account exists, so a field that is filled
in during a deal leaks the label (see docs/configuration.md).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .config import FeatureSettings
from .context import Context, Feature
from .wording import Template

PREFIX = "attribute__"


def _column(ctx: Context, column: str):
    accounts = ctx.accounts
    if column not in accounts.columns:
        raise ValueError(f"the settings declare the attribute '{column}', but this history's accounts table has no such "
                         "column; read the history with the configuration that declares it ([attributes.accounts])")
    return accounts[column]


def category(ctx: Context, column: str) -> np.ndarray:
    """The attribute's value as given, trimmed (categorical); missing where empty."""
    return ctx.per_account(_column(ctx, column).to_numpy(dtype=object))


def number(ctx: Context, column: str) -> np.ndarray:
    """The attribute's value; NaN where empty."""
    return ctx.per_account(_column(ctx, column).to_numpy(dtype=float))


def attribute_template(column: str, kind: str) -> Template:
    """How a declared attribute's value is said: "lead source: webinar", "seats: 1,500", "seats unknown"."""
    label = column.replace("_", " ")
    return Template("category" if kind == "category" else "number", f"{label}: {{n}}", missing=f"{label} unknown")


def attribute_features(settings: FeatureSettings | None) -> list[Feature]:
    """The features of the attributes ``settings`` declares, in declaration order."""
    if settings is None:
        return []
    return [
        Feature(f"{PREFIX}{col}", partial(category if kind == "category" else number, column=col), col.replace("_", " "),
                categorical=kind == "category", sources=(f"accounts.{col}",), template=attribute_template(col, kind))
        for col, kind in settings.attributes
    ]


def attribute_sources(name: str) -> tuple[str, ...] | None:
    """The inputs of the attribute feature ``name`` (None if ``name`` is not an attribute feature)."""
    return (f"accounts.{name[len(PREFIX):]}",) if name.startswith(PREFIX) and len(name) > len(PREFIX) else None
