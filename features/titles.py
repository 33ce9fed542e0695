"""Seniority and department of a contact, from the CRM or derived from the job title.

The contract lets ``seniority`` and ``department`` be empty, in which case they
are derived from ``title`` by the keyword rules below (first match wins, so the
more specific patterns come first). Given values are normalised to the
contract's vocabulary where a synonym is recognised, and kept lower-cased
otherwise.
"""

from __future__ import annotations

import pandas as pd

# (pattern, value): regular expressions over the lower-cased title.
SENIORITY_RULES: tuple[tuple[str, str], ...] = (
    (r"\b(?:chief|ceo|cfo|cto|cio|coo|cmo|cro|ciso|cdo|founder|co-founder|president|owner|c-level)\b", "c_level"),
    (r"\b(?:svp|evp|vp|avp|vice[ -]president)\b", "vp"),
    (r"\b(?:director|head of|head)\b", "director"),
    (r"\b(?:manager|lead|supervisor|principal)\b", "manager"),
)
DEFAULT_SENIORITY = "individual"

DEPARTMENT_RULES: tuple[tuple[str, str], ...] = (
    (r"\b(?:procurement|purchasing|sourcing|buyer|vendor management)\b", "procurement"),
    (r"\b(?:finance|financial|cfo|controller|accounting|accountant|treasury|fp&a)\b", "finance"),
    (r"\b(?:security|ciso|it|cio|information technology|infrastructure|systems|sysadmin|helpdesk|network)\b", "it"),
    (r"\b(?:engineering|engineer|developer|software|cto|architect|devops|data|platform|r&d)\b", "engineering"),
    (r"\b(?:marketing|cmo|brand|growth|demand gen|demand generation|content|seo|communications)\b", "marketing"),
    (r"\b(?:sales|cro|account executive|business development|bdr|sdr|revenue|commercial)\b", "sales"),
    (r"\b(?:hr|human resources|people|talent|recruit|recruiter|recruiting)\b", "hr"),
    (r"\b(?:operations|ops|coo|supply chain|logistics)\b", "operations"),
    (r"\b(?:ceo|founder|co-founder|president|owner|managing director|general manager)\b", "executive"),
)

SENIORITY_SYNONYMS: dict[str, str] = {
    "c-level": "c_level", "c level": "c_level", "clevel": "c_level", "c-suite": "c_level", "c_suite": "c_level",
    "executive": "c_level", "cxo": "c_level",
    "vice president": "vp", "vice-president": "vp", "svp": "vp", "evp": "vp",
    "head": "director", "senior manager": "manager", "mgr": "manager",
    "ic": "individual", "individual contributor": "individual", "staff": "individual", "entry": "individual",
}


def _classify(titles: pd.Series, rules, default) -> pd.Series:
    """First rule whose pattern matches each title; ``default`` for unmatched titles."""
    t = titles.astype("str").str.lower()
    out = pd.Series(pd.NA, index=titles.index, dtype="str")
    for pattern, value in rules:
        hit = out.isna() & t.str.contains(pattern, regex=True, na=False)
        out = out.mask(hit, value)
    if default is not None:
        out = out.mask(out.isna() & t.notna(), default)
    return out


def seniority_from_title(titles: pd.Series) -> pd.Series:
    """Seniority (``c_level`` .. ``individual``) read from job titles; missing for no title."""
    return _classify(titles, SENIORITY_RULES, DEFAULT_SENIORITY)


def department_from_title(titles: pd.Series) -> pd.Series:
    """Department read from job titles; missing where no rule matches."""
    return _classify(titles, DEPARTMENT_RULES, None)


def complete_roles(contacts: pd.DataFrame) -> pd.DataFrame:
    """Normalise given seniority/department and derive the empty ones from ``title``."""
    out = contacts.copy()
    title = out["title"] if "title" in out else pd.Series(pd.NA, index=out.index, dtype="str")
    given_sen = out["seniority"].str.lower().str.replace(r"[\s\-]+", "_", regex=True) if "seniority" in out else None
    if given_sen is not None:
        given_sen = given_sen.replace({k.replace(" ", "_").replace("-", "_"): v for k, v in SENIORITY_SYNONYMS.items()})
        out["seniority"] = given_sen.fillna(seniority_from_title(title))
    else:
        out["seniority"] = seniority_from_title(title)
    given_dep = out["department"].str.lower() if "department" in out else None
    out["department"] = given_dep.fillna(department_from_title(title)) if given_dep is not None else department_from_title(title)
    return out
