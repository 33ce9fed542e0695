"""Starting configurations: ``mqa init`` writes one, commented, for a user to edit.

The text is generated from the schema (:mod:`mqa.features.config`): every
section with each key's default commented out and its description beside
it, so the file and the schema cannot drift. A preset fills in the file
names and column names of a CRM's standard export; what each preset assumes
is written in the file and in ``docs/configuration.md``.
"""

import json
from dataclasses import dataclass, field

from .config import DEFAULT_COMMITTEE, DEFAULT_WEIGHTS, ConfigFile, Section
from .contract import TABLES


@dataclass(frozen=True)
class Preset:
    """A CRM's standard export: ``{table: file name}``, ``{table: {contract column: its column}}`` and notes."""

    title: str
    notes: tuple[str, ...]
    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str | list[str]]] = field(default_factory=dict)
    table_notes: dict[str, str] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "salesforce": Preset(
        title="Salesforce",
        notes=(
            "Assumes the objects exported one file each, named after the object (Data Loader, Data Export,",
            "or a report export), with the fields' API names as column headers.",
            "Opportunity.CloseDate is set on open opportunities too (the expected close date): an open",
            "opportunity whose CloseDate has passed counts as closed from then on; keep CloseDate current.",
            "Opportunity.Type is 'New Business', 'Existing Customer - Upgrade', ... in a standard org:",
            "[labels] compares types in lower case, so exclude_types = [\"existing customer - renewal\"] and",
            "the like must use your org's values.",
        ),
        tables={"accounts": "Account.csv", "contacts": "Contact.csv", "opportunities": "Opportunity.csv",
                "opportunity_contacts": "OpportunityContactRole.csv", "activities": "Task.csv"},
        columns={
            "accounts": {"account_id": "Id", "name": "Name", "domain": "Website", "industry": "Industry",
                         "employees": "NumberOfEmployees", "annual_revenue": "AnnualRevenue",
                         "country": "BillingCountry", "created_at": "CreatedDate"},
            "contacts": {"contact_id": "Id", "account_id": "AccountId", "name": ["FirstName", "LastName"],
                         "email": "Email", "title": "Title", "department": "Department", "created_at": "CreatedDate"},
            "opportunities": {"opportunity_id": "Id", "account_id": "AccountId", "created_at": "CreatedDate",
                              "closed_at": "CloseDate", "stage": "StageName", "amount": "Amount", "type": "Type",
                              "is_won": "IsWon"},
            "opportunity_contacts": {"opportunity_id": "OpportunityId", "contact_id": "ContactId", "role": "Role",
                                     "is_primary": "IsPrimary"},
            "activities": {"activity_id": "Id", "timestamp": "CreatedDate", "type": "Type", "contact_id": "WhoId",
                           "account_id": "AccountId", "title": "Subject"},
        },
        table_notes={
            "opportunity_contacts": "OpportunityContactRole: who was on each opportunity, in which role. Optional: "
                                    "without the file, opportunities simply have no contact roles.",
            "activities": "Salesforce Tasks are logged sales touches: their Types Call, Email and Meeting are the contract's "
                          "sales types\n# (timed by 'mqa dispositions', no engagement points), any other counts as 'other' (reported). A marketing "
                          "automation export\n# (web visits, form fills, webinars) is the better activities table "
                          "when you have one.\n# A Task's WhoId may be a Lead (00Q...) rather than a contact: such a task is matched by its AccountId.",

        },
    ),
    "hubspot": Preset(
        title="HubSpot",
        notes=(
            "Assumes companies, contacts and deals exported one file each, renamed companies.csv, contacts.csv",
            "and deals.csv (or set [tables] to your files' names), with the properties' internal names as",
            "column headers, as the CRM API and the export tools built on it write them. HubSpot's own",
            "export from the app writes the properties' labels instead ('Record ID', 'Create Date', ...):",
            "then put those labels on the right-hand side.",
            "A deal holds its company through an association, not a property: 'associatedcompanyid' below is",
            "the column your export tool writes the deal's primary company id to; check yours.",
            "closedate is set on open deals too (the expected close date); dealtype is 'newbusiness' or",
            "'existingbusiness' in a standard portal.",
        ),
        tables={"accounts": "companies.csv", "contacts": "contacts.csv", "opportunities": "deals.csv"},
        columns={
            "accounts": {"account_id": "hs_object_id", "name": "name", "domain": "domain", "industry": "industry",
                         "employees": "numberofemployees", "annual_revenue": "annualrevenue", "country": "country",
                         "created_at": "createdate"},
            "contacts": {"contact_id": "hs_object_id", "account_id": "associatedcompanyid",
                         "name": ["firstname", "lastname"], "email": "email", "title": "jobtitle",
                         "created_at": "createdate"},
            "opportunities": {"opportunity_id": "hs_object_id", "account_id": "associatedcompanyid",
                              "created_at": "createdate", "closed_at": "closedate", "stage": "dealstage",
                              "amount": "amount", "type": "dealtype", "is_won": "hs_is_closed_won"},
        },
    ),
}


def _toml(value) -> str:
    """A TOML literal for a default (strings, numbers, booleans, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is JSON's string syntax
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML literal for {value!r}")


def _key(name: str) -> str:
    return name if name.replace("_", "").isalnum() else json.dumps(name)


# Shown for keys whose default is "not set", so that uncommenting gives a valid value.
EXAMPLES: dict[tuple[str, str], object] = {
    ("labels", "opportunity_types"): ["new_business", "expansion"],
    ("labels", "exclude_types"): ["renewal"],
    ("grid", "warmup_days"): 90,
    ("score", "tiers"): {"nurture": 0, "targeted": 60, "mqa": 85},
    ("evaluation", "weekly_capacity"): 50,
    ("evaluation", "precision_target"): 0.2,
    ("mlflow", "tracking_uri"): "sqlite:///mlflow.db",
    ("alert", "webhook_url"): "https://hooks.slack.com/services/T000/B000/XXXX",
    ("alert", "report_url"): "https://intranet.example.com/mqa-report",
    ("database", "schema"): "crm",
    ("database.tables", "accounts"): "sf_account",
    ("database.tables", "opportunities"): "salesforce.opportunity",
    ("topics", "url_prefixes"): {"/solutions/data-pipelines": "data pipelines", "/solutions/reverse-etl": "reverse etl"},
}

# Sections a user must look at: their defaults describe the synthetic market.
FILL_IN = {
    "icp": "FILL IN: your ideal customer profile. The values below are the built-in defaults, which describe\n"
           "# the market of mqa's synthetic generator, not yours: uncomment and set them. Until you do,\n"
           "# 'mqa train' says the profile is the default.",
    "intent": "FILL IN if you have an intent table: the research topics of your product's category\n"
              "# (the default is the synthetic generator's).",
}


def _section_lines(name: str, model: type[Section]) -> list[str]:
    lines = [f"# {model.__doc__.strip().splitlines()[0].replace('``', '')}"]
    if name in FILL_IN:
        lines = [f"# {'=' * 78}", f"# {FILL_IN[name]}", f"# {'=' * 78}"] + lines
    lines.append(f"[{name}]")
    subtables: list[str] = []
    for key, info in model.model_fields.items():
        default = info.get_default(call_default_factory=True)
        doc = info.description or ""
        if name == "engagement" and key == "weights":
            subtables += ["", f"# {doc}", "[engagement.weights]"] + [f"# {k} = {_toml(v)}" for k, v in DEFAULT_WEIGHTS.items()]
            continue
        if name == "engagement" and key == "committee":
            subtables += ["", f"# {doc} Uncomment the header with every role you keep.", "# [engagement.committee]"] + [
                f"# {k} = {_toml(list(v))}" for k, v in DEFAULT_COMMITTEE.items()]
            continue
        if isinstance(default, Section):
            # A table of its own ([database.tables]): its header commented too, so
            # that a key uncommented alone cannot land in the section above.
            subtables += ["", f"# {doc} Uncomment the header with the tables you map.", f"# [{name}.{key}]"] + [
                f"# {k} = {_toml(EXAMPLES.get((name + '.' + key, k), k))}" for k in type(default).model_fields]
            continue
        if default is None or (default == {} and (name, key) in EXAMPLES):
            # Not set, or an empty table: the example shows what a value looks like.
            example = EXAMPLES.get((name, key))
            lines += [f"# {doc} Not set by default; for example:", f"# {key} = {_toml(example)}"]
        else:
            lines += [f"# {doc}", f"# {key} = {_toml(default)}"]
    return lines + subtables


def _mapping_lines(preset: Preset | None) -> list[str]:
    lines = ["# Your export's file names, when a table's file is not <table>.csv, .csv.gz or .parquet.", "[tables]"]
    for table in TABLES:
        name = preset.tables.get(table) if preset else None
        lines.append(f"{table} = {_toml(name)}" if name else f"# {table} = {_toml(table + '.csv')}")
    lines += ["", "# Your column names for the contract's (DATA_CONTRACT.md); names match case-insensitively.",
              "# A list of columns is joined with a space (a contact's name from first and last name)."]
    for table, spec in TABLES.items():
        given = preset.columns.get(table, {}) if preset else {}
        lines.append("")
        if preset and table in preset.table_notes:
            lines.append(f"# {preset.table_notes[table]}")
        lines.append(f"[columns.{table}]" if given else f"# [columns.{table}]")
        for col in spec.names:
            if col in given:
                lines.append(f"{col} = {_toml(given[col])}")
            else:
                lines.append(f"# {col} = {_toml(col)}")
    lines += ["", "# A CRM's own account fields that become features attribute__<name>: \"category\" or \"number\".",
              "# [attributes.accounts]", "# lead_source = \"category\""]
    return lines


def init_config(preset: str | None = None) -> str:
    """The text of a commented configuration to start from.

    Parameters
    ----------
    preset : {'salesforce', 'hubspot'} or None
        A CRM whose standard export's file and column names are filled in;
        None leaves every mapping commented (the contract's own names).

    Returns
    -------
    str
        TOML that :func:`~mqa.features.config.load_config` accepts as it is.

    Raises
    ------
    ValueError
        An unknown preset.
    """
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    chosen = PRESETS[preset] if preset else None
    head = [f"# mqa configuration{' for a ' + chosen.title + ' export' if chosen else ''}, written by 'mqa init"
            f"{' --preset ' + preset if preset else ''}'.",
            "# Every key is shown with its default, commented out: uncomment a line to change it.",
            "# docs/configuration.md documents each section; 'mqa validate --config FILE' checks the file."]
    if chosen:
        head += ["#", f"# {chosen.title}:"] + [f"#   {line}" for line in chosen.notes]
    body = head + [""] + _mapping_lines(chosen)
    for name, info in ConfigFile.model_fields.items():
        if name in ("tables", "columns", "attributes"):
            continue
        body += [""] + _section_lines(name, info.annotation)
    return "\n".join(body) + "\n"
