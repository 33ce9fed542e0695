"""Reading a CRM's own export: [tables] file names, joined columns, and the configurations 'mqa init' writes."""

from __future__ import annotations

import pandas as pd
import pytest

from mqa.cli import main
from mqa.features.config import load_config
from mqa.features.files import discover
from mqa.features.history import read_history
from mqa.features.presets import PRESETS, init_config
from mqa.features.problems import DataError, ProblemLog

from .conftest import BASE, dedent, frame, write_tables

# A small Salesforce export, in Salesforce's object file names and field API names (as Data Loader writes them).
SALESFORCE = {
    "Account.csv": """
        Id,Name,Website,Industry,NumberOfEmployees,AnnualRevenue,BillingCountry,CreatedDate,OwnerId
        0015g00000AcmeAAA,Acme Corp,https://www.acme.com,Software,250,12000000,United States,2024-01-02T09:15:00.000Z,0055g000001
        0015g00000BetaAAA,Beta GmbH,beta.de,Manufacturing,40,,Germany,2024-02-10T12:00:00.000Z,0055g000001
        0015g00000GammAAA,Gamma Ltd,gamma.co.uk,Healthcare,1200,50000000.50,United Kingdom,2024-03-01T08:00:00.000Z,0055g000002
    """,
    "Contact.csv": """
        Id,AccountId,FirstName,LastName,Email,Title,Department,CreatedDate
        0035g00000Ada,0015g00000AcmeAAA,Ada, Lovelace ,ada@acme.com,Chief Technology Officer,Engineering,2024-01-05T10:00:00.000Z
        0035g00000Bob,0015g00000AcmeAAA,,Smith,bob@acme.com,Financial Analyst,Finance,2024-01-06T10:00:00.000Z
        0035g00000Cai,0015g00000BetaAAA,Cai,,cai@beta.de,Head of IT,,2024-02-12T10:00:00.000Z
    """,
    "Opportunity.csv": """
        Id,AccountId,Name,CreatedDate,CloseDate,StageName,Amount,Type,IsWon,IsClosed
        0065g00000One,0015g00000AcmeAAA,Acme - Platform,2024-04-01T10:00:00.000Z,2024-05-15,Closed Won,45000,New Business,true,true
        0065g00000Two,0015g00000GammAAA,Gamma - Pilot,2024-05-01T10:00:00.000Z,2024-07-30,Prospecting,12000,New Business,false,false
    """,
    "Task.csv": """
        Id,WhoId,WhatId,AccountId,Subject,Type,Status,CreatedDate,ActivityDate
        00T5g00000T1,0035g00000Ada,0015g00000AcmeAAA,0015g00000AcmeAAA,Intro call,Call,Completed,2024-03-10T15:00:00.000Z,2024-03-10
        00T5g00000T2,00Q5g00000Lead,,0015g00000BetaAAA,Sent pricing,Email,Completed,2024-03-12T09:30:00.000Z,
    """,
}


def write_export(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(dedent(text))
    return folder


# --- mqa init ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", [None, *PRESETS])
def test_init_output_loads_without_error(tmp_path, preset):
    path = tmp_path / "mqa.toml"
    path.write_text(init_config(preset))
    config = load_config(path)
    assert config.icp_is_default  # the ICP is left to fill in
    assert "FILL IN: your ideal customer profile" in path.read_text()
    if preset:
        assert config.tables == PRESETS[preset].tables
        assert config.joins["contacts"]["name"] == tuple(PRESETS[preset].columns["contacts"]["name"])


def test_init_shows_every_section_with_its_defaults():
    text = init_config()
    for header in ("[tables]", "# [columns.accounts]", "# [attributes.accounts]", "[icp]", "[intent]", "[engagement]",
                   "[engagement.weights]", "# [engagement.committee]", "[labels]", "[grid]", "[score]", "[rules]",
                   "[evaluation]", "[backtest]", "[model]", "[mlflow]"):
        assert f"\n{header}\n" in text
    for line in ("# horizon_days = 90", "# cutoff = 85", "# folds = 3", "# demo_request = 25", '# experiment = "mqa"',
                 "# employees = [200, 5000]"):
        assert f"\n{line}\n" in text


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown preset 'pipedrive'; expected one of salesforce, hubspot"):
        init_config("pipedrive")


def test_cli_init_writes_and_never_replaces(tmp_path, capsys):
    out = tmp_path / "mqa.toml"
    assert main(["init", "--preset", "salesforce", "--out", str(out)]) == 0
    assert out.read_text() == init_config("salesforce")
    out.write_text("# mine\n")
    assert main(["init", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}: already exists; mqa does not replace it" in err and "Traceback" not in err
    assert out.read_text() == "# mine\n"


def test_cli_refuses_a_bad_config_without_a_traceback(tmp_path, history_dir, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('icp = 3\n[scores]\ncutoff = 70\n[evaluation]\nweekly_capacity = "lots"\n')
    assert main(["validate", str(history_dir), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for line in ("[icp]: must be a table", "[scores]: unknown section (did you mean [score]?)",
                 "[evaluation] weekly_capacity: must be a number >= 0, not 'lots'"):
        assert line in err


# --- a Salesforce export -----------------------------------------------------------------------------------

def test_the_salesforce_preset_reads_a_salesforce_export(tmp_path):
    folder = write_export(tmp_path / "export", SALESFORCE)
    (tmp_path / "mqa.toml").write_text(init_config("salesforce"))
    history = read_history(folder, config=load_config(tmp_path / "mqa.toml"))
    assert history.present == ("accounts", "contacts", "activities", "opportunities")
    assert history.files["accounts"] == "Account.csv" and history.files["activities"] == "Task.csv"
    accounts = history["accounts"].set_index("account_id")
    assert accounts.loc["0015g00000AcmeAAA", "domain"] == "acme.com"
    assert accounts.loc["0015g00000GammAAA", "employees"] == 1200
    contacts = history["contacts"].set_index("contact_id")
    assert contacts["name"].to_dict() == {"0035g00000Ada": "Ada Lovelace", "0035g00000Bob": "Smith", "0035g00000Cai": "Cai"}
    opps = history["opportunities"].set_index("opportunity_id")
    assert bool(opps.loc["0065g00000One", "is_won"]) and opps.loc["0065g00000One", "type"] == "new business"
    # Tasks are matched to their accounts (the lead's by AccountId); their types are sales touches, not marketing vocabulary.
    acts = history["activities"].set_index("activity_id")
    assert acts["account_id"].to_dict() == {"00T5g00000T1": "0015g00000AcmeAAA", "00T5g00000T2": "0015g00000BetaAAA"}
    assert set(acts["type"]) == {"other"}  # to the features, as the contract says of types outside its vocabulary
    assert acts["sales_touch"].to_dict() == {"00T5g00000T1": True, "00T5g00000T2": True}


def test_a_mapped_required_table_missing_names_its_file(tmp_path):
    folder = write_export(tmp_path / "export", {k: v for k, v in SALESFORCE.items() if k != "Opportunity.csv"})
    (tmp_path / "mqa.toml").write_text(init_config("salesforce"))
    with pytest.raises(DataError, match=r"required table is missing: add Opportunity.csv \(its name in \[tables\]\)"):
        read_history(folder, config=load_config(tmp_path / "mqa.toml"))


# --- [tables] and joined columns ----------------------------------------------------------------------------

def test_discover_finds_mapped_names_and_ignores_the_contract_name_of_a_mapped_table(tmp_path):
    folder = write_tables(tmp_path / "h", dict(BASE))
    (folder / "accounts.csv").rename(folder / "Firmen.CSV")
    (folder / "Deals.parquet").write_bytes(b"")  # any format, when the mapping gives no extension
    (folder / "opportunities.csv").rename(folder / "old_opportunities.csv")
    log = ProblemLog()
    files = discover(folder, log, {"accounts": "firmen.csv", "opportunities": "Deals"})
    assert files["accounts"].name == "Firmen.CSV" and files["opportunities"].name == "Deals.parquet"
    assert not log.problems
    assert "accounts" not in discover(folder, ProblemLog())  # the default: contract names only


def test_two_files_for_a_mapped_stem_are_one_problem(tmp_path):
    folder = tmp_path / "h"
    folder.mkdir()
    (folder / "Deals.csv").write_text("x\n")
    (folder / "Deals.parquet").write_text("x\n")
    log = ProblemLog()
    assert "opportunities" not in discover(folder, log, {"opportunities": "Deals"})
    assert "2 files for one table (Deals.csv, Deals.parquet); keep exactly one" in str(log.problems[0])


def test_joined_columns_read_and_missing_parts_are_named(tmp_path):
    contacts = frame(BASE["contacts"]).drop(columns="name").assign(First=["Ann", "", " "], Last=[" Lee ", "Park", ""])
    folder = write_tables(tmp_path / "h", dict(BASE, contacts=contacts.to_csv(index=False)))
    history = read_history(folder, config=load_config({"columns": {"contacts": {"name": ["First", "Last"]}}}))
    names = history["contacts"].set_index("contact_id")["name"]
    assert names[["C1", "C2"]].tolist() == ["Ann Lee", "Park"] and pd.isna(names["C3"])
    with pytest.raises(DataError, match=r"contacts: column 'name': the configuration joins 'First', 'Surname' into it, "
                                        r"but 'Surname' is not a column of contacts.csv; fix \[columns.contacts\]"):
        read_history(folder, config=load_config({"columns": {"contacts": {"name": ["First", "Surname"]}}}))
