"""SQL Server and Redshift cannot run here: compile every model, test and analysis for them offline
(is_incremental() both ways) and parse the SQL in their dialects with sqlfluff."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import sqlfluff
from conftest import dbt
from sqlfluff.api.simple import APIParsingError, get_simple_config
from sqlfluff.core import FluffConfig

pytestmark = pytest.mark.slow

DIALECTS = {"sqlserver": "tsql", "redshift": "redshift"}


def compile_offline(target: str, incremental: bool, out: Path) -> Path:
    env = {"CARESTAR_TARGET": target}
    dbt(
        "compile",
        "--no-populate-cache",
        "--vars",
        f"{{offline: true, offline_incremental: {str(incremental).lower()}}}",
        db=out / "unused.duckdb",
        env=env,
    )
    return out / "target"


@pytest.fixture(
    scope="module",
    params=[(t, inc) for t in DIALECTS for inc in (False, True)],
    ids=lambda p: f"{p[0]}-incremental={p[1]}",
)
def compiled(request, tmp_path_factory) -> tuple[str, bool, Path]:
    target, incremental = request.param
    return target, incremental, compile_offline(target, incremental, tmp_path_factory.mktemp(target))


# What sqlfluff answered for each (dialect, statement): the tests and most models compile to
# the same text whether is_incremental() is true or not, and are parsed once per dialect.
_PARSED: dict[tuple[str, str], str | None] = {}


@functools.cache
def _config(dialect: str) -> FluffConfig:
    return get_simple_config(dialect=dialect)


def _parse_error(sql: str, dialect: str) -> str | None:
    if (dialect, sql) not in _PARSED:
        try:
            sqlfluff.parse(sql, config=_config(dialect))
            _PARSED[(dialect, sql)] = None
        except APIParsingError as exc:
            _PARSED[(dialect, sql)] = " ".join(str(exc).splitlines()[1:2]) or "parse error"
    return _PARSED[(dialect, sql)]


def test_every_compiled_statement_parses(compiled):
    target, _, path = compiled
    files = sorted((path / "compiled").rglob("*.sql"))
    assert len(files) > 100
    failures = [f"{f.name}: {error}" for f in files if (error := _parse_error(f.read_text(), DIALECTS[target]))]
    assert not failures, failures


def _model_sql(path: Path, name: str) -> str:
    return next((path / "compiled").rglob(f"{name}.sql")).read_text()


def test_incremental_sql_reads_only_new_loads(compiled):
    _, incremental, path = compiled
    fact = _model_sql(path, "fct_patient_encounters")
    assert ("max(LoadID)" in fact) is incremental
    claims = _model_sql(path, "int_claims_deduplicated")
    assert ("loaded_since" in claims) is incremental
    assert "row_number() over" in claims  # either way, each key reduced to one row before the merge


def test_sqlserver_physical_design(compiled):
    target, _, path = compiled
    if target != "sqlserver":
        pytest.skip("SQL Server only")
    ddl = _model_sql(path, "physical_design_ddl").lower()
    assert "as range right for values (20150101," in ddl
    assert "create clustered columnstore index cci_factpatientencounters" in ddl
    assert "on ps_carestar_date_id (dateid)" in ddl
    assert "with schemabinding" in ddl and "create unique clustered index" in ddl
    assert "create nonclustered index" in ddl and "where appointment_status = 'missed'" in ddl
    assert 'create table "dbo"."dimpatient" (patientid integer not null,' in ddl and "isactive bit" in ddl
    aggregate = _model_sql(path, "encounters_by_region").lower()
    assert "count_big(*)" in aggregate and "isnull(" in aggregate
    assert "with" not in aggregate.split("select", 1)[0]  # one select: no CTE in an indexed view
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["nodes"]["model.carestar.encounters_by_region"]["config"]["materialized"] == "indexed_view"


def test_the_incremental_merge_statement_is_captured(compiled):
    _, _, path = compiled
    ddl = _model_sql(path, "physical_design_ddl").lower()
    assert "merge into" in ddl and "when matched then update set" in ddl and "encounterid" in ddl


def test_the_billing_exceptions_scope_replacement_is_captured(compiled):
    _, _, path = compiled
    ddl = _model_sql(path, "physical_design_ddl").lower()
    assert "delete from" in ddl and "int_billing_exceptions" in ddl and "where row_kind <> 'scope'" in ddl


def test_redshift_distribution_and_sort_keys(compiled):
    target, _, path = compiled
    if target != "redshift":
        pytest.skip("Redshift only")
    nodes = json.loads((path / "manifest.json").read_text())["nodes"]
    fact = nodes["model.carestar.fct_patient_encounters"]["config"]
    assert (fact["dist"], fact["sort"]) == ("PatientID", "DateID")
    assert nodes["model.carestar.dim_hospital"]["config"]["dist"] == "all"
    assert nodes["model.carestar.encounters_by_region"]["config"]["materialized"] == "materialized_view"
    assert nodes["model.carestar.encounters_by_region"]["alias"] == "encountersbyregion"
    # the DDL a build sends, rendered by dbt-redshift's own dist()/sort() from those configs
    ddl = " ".join(_model_sql(path, "physical_design_ddl").lower().split())
    assert 'create table "public"."factpatientencounters" (encounterid bigint not null,' in ddl
    assert "diststyle key distkey (patientid) compound sortkey(dateid)" in ddl
    assert 'create table "public"."dimhospital"' in ddl and "diststyle all" in ddl
    assert 'create materialized view "public"."encountersbyregion"' in ddl
