"""Synthetic CRM history drawn from a latent buying process.

:func:`generate_history` plays out two years of a B2B vendor's market week by
week and writes down what a CRM, a marketing automation platform, an intent
provider and a reverse-IP tool would have recorded of it, in seven of the tables of
``DATA_CONTRACT.md`` (sales' dispositions of the accounts handed to them among them;
eight, ``opportunity_contacts`` too, with buying groups).

What drives pipeline is hidden, as it is in real data. Each account has a
latent fit to the ideal customer profile (industry, size, installed
technologies, and a part no column shows). Its hazard of starting a buying
cycle rises with fit and for some weeks after an executive hire or a funding
round. A cycle gathers a committee of several people whose engagement grows
and turns senior towards its end, usually shows up as intent surges on the
product's topics, and ends in an opportunity only sometimes: broader, more
senior committees with strong intent at well-fitting accounts convert more
often. Some opportunities come from quiet cycles or from sales outreach and
leave hardly a trace.

Raw activity volume is deliberately a poor guide. Newsletters and security
scanners that open and click every email, single curious visitors, agencies
and competitors browsing all year, trade-show badge scans, job seekers,
reverse-IP traffic that grows with company size and customers' product usage
all add volume, and often several engaged people, without buying intent. The
data is messy in the ways real exports are (unnormalised domains, contacts
without accounts, activities known only by an email address, duplicate ids,
unknown activity types).

Buying groups are off by default. With ``SynthParams(buying_groups=
BuyingGroupParams(enabled=True))`` (``mqa synth --buying-groups``), every
new-business cycle evaluates one of three product lines
(:data:`PRODUCT_LINES`), and at large accounts some cycles get one or two
sibling cycles on the other lines: other teams, each with its own committee,
pace and outcome, and its own opportunity when it converts. Most of a
committee member's activities are about their line: on the line's pages,
whose path prefixes :data:`PRODUCT_LINE_PREFIXES` names, and for some rows in
a new ``activities.topic`` column. Converting cycles' opportunities list
their committee in an ``opportunity_contacts`` table, with Salesforce's
contact roles. ``generate_history(..., with_truth=True)`` also returns who
was on which cycle, the truth a buying-group detector is measured against
(:func:`simultaneous_groups` counts the groups an account ran at once). Those
draws come from a random stream of their own; off, not one draw or byte of
the default history changes.

Everything is vectorised over accounts, people and events; the only loops run
over weeks and over small fixed vocabularies. One seeded
``numpy.random.Generator`` drives every draw, so the same arguments give the
same tables.

The package, in the order :func:`generate_history` runs it: ``grid`` (the
weeks), ``accounts``, ``signals`` (timing events), ``pipeline`` (the weekly
market: cycles, opportunities, customers), ``people`` and ``engagement`` (who
leaves which trace), ``artefacts`` (what trackers make of it), ``intent``, ``tables`` (the
export) and ``dispositions`` (sales' verdicts, on a random stream of their own); ``params`` names the weekly run's constants
(:class:`SynthParams`), ``deals`` sizes and times opportunities, and ``vocab``,
``draws`` and ``columns`` hold the data and helpers the stages share, and ``buying_groups``
what parallel buying groups leave in the tables (their truth included). Only the names below are public.
"""

from ..contract import ACTIVITY_TYPES, DEPARTMENTS, SENIORITIES, SIGNAL_TYPES
from .buying_groups import simultaneous_groups
from .generate import generate_history
from .grid import DEFAULT_END, DEFAULT_START
from .params import BuyingGroupParams, SynthParams
from .vocab import (
    FREE_MAIL_DOMAINS,
    ICP_EMPLOYEES,
    ICP_INDUSTRIES,
    ICP_TECHNOLOGIES,
    INDUSTRIES,
    OWNERS,
    PRODUCT_LINE_PREFIXES,
    PRODUCT_LINES,
    RELEVANT_TOPICS,
    TECHNOLOGIES,
    UNKNOWN_ACTIVITY_TYPES,
    UNRELATED_TOPICS,
    VENDOR_SITE,
)

__all__ = [
    "ACTIVITY_TYPES", "DEFAULT_END", "DEFAULT_START", "DEPARTMENTS", "FREE_MAIL_DOMAINS", "ICP_EMPLOYEES",
    "ICP_INDUSTRIES", "ICP_TECHNOLOGIES", "INDUSTRIES", "OWNERS", "PRODUCT_LINES", "PRODUCT_LINE_PREFIXES",
    "RELEVANT_TOPICS", "SENIORITIES", "SIGNAL_TYPES", "TECHNOLOGIES", "UNKNOWN_ACTIVITY_TYPES", "UNRELATED_TOPICS",
    "VENDOR_SITE", "BuyingGroupParams", "SynthParams", "generate_history", "simultaneous_groups",
]
