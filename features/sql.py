"""Placeholder until the SQL-source branch lands (the lead's minimal version)."""

from __future__ import annotations


def is_url(text: str) -> bool:
    return "://" in str(text)


def display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "the database URL"


def engine_for(url: str):
    from sqlalchemy import create_engine

    try:
        return create_engine(url)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{display_url(url)}: {exc}") from None
