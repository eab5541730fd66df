"""End to end on DuckDB: generated files -> loader -> dbt build -> the warehouse contract."""

from __future__ import annotations

import csv
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import CONTRACT_RELATIONS, WAREHOUSE_FILE, dbt, load_into, query, snapshot
from independent import acceptance_figures

from carestar.contract import ENTITIES
from carestar.land import DuckDBTarget
from carestar.pipeline import load
from carestar.summary import ACCEPTANCE_QUERY

pytestmark = pytest.mark.slow

KEYS = {
    "DimPatient": "select SourcePatientID, PatientID from DimPatient",
    "DimProvider": "select SourceProviderID, ProviderID from DimProvider",
    "DimHospital": "select SourceHospitalID, HospitalID from DimHospital",
    "DimDiagnosis": "select DiagnosisCode, DiagnosisID from DimDiagnosis",
    "FactPatientEncounters": "select SourceEncounterID, EncounterID from FactPatientEncounters",
}


def _figures(db: Path) -> dict[tuple[str, str], Decimal | None]:
    return {(region, desc): total for region, desc, total in query(db, ACCEPTANCE_QUERY)}


def _keys(db: Path) -> dict[str, dict]:
    return {name: dict(query(db, sql)) for name, sql in KEYS.items()}


def _build_and_compare_with_a_full_refresh(db: Path, tmp_path: Path, *args: str) -> None:
    """Build `db` incrementally, and a copy of it in full: every contract relation equal, row for row.
    The incremental side runs dbt's tests too; the full side is only a reference (dbt run)."""
    dbt("build", *args, db=db)
    full = tmp_path / "full" / WAREHOUSE_FILE  # its own folder: dbt's target/ beside it stays apart
    full.parent.mkdir()
    shutil.copy(db, full)
    dbt("run", "--full-refresh", *args, db=full)
    incremental, rebuilt = snapshot(db), snapshot(full)
    for name in CONTRACT_RELATIONS:
        assert incremental[name] == rebuilt[name], name


def test_acceptance_query_matches_an_independent_computation(built_warehouse, sample_tree):
    got = _figures(built_warehouse)
    expected = acceptance_figures([sample_tree[0]])
    assert len(got) > 50
    assert got == expected


def test_contract_relations_and_types(built_warehouse):
    cols = query(
        built_warehouse,
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_name in ('FactPatientEncounters', 'DimDate') order by table_name, ordinal_position",
    )
    fact = [(c, t) for table, c, t in cols if table == "FactPatientEncounters"][:8]
    assert fact == [
        ("EncounterID", "BIGINT"),
        ("PatientID", "INTEGER"),
        ("ProviderID", "INTEGER"),
        ("HospitalID", "INTEGER"),
        ("DiagnosisID", "INTEGER"),
        ("DateID", "INTEGER"),
        ("BillingAmount", "DECIMAL(10,2)"),
        ("EncounterDuration", "INTEGER"),
    ]
    # DimDate spans the data with room on both sides, one row per day
    (lo, hi, n, span) = query(
        built_warehouse, "select min(Date), max(Date), count(*), max(Date) - min(Date) + 1 from DimDate"
    )[0]
    assert lo.year <= 2015 and hi.year >= 2035 and n == span
    assert query(built_warehouse, "select DayOfWeek, IsHoliday from DimDate where DateID = 20260703") == [
        ("Friday", True)
    ]


def test_every_encounter_lands_with_inferred_members(built_warehouse):
    landed = query(built_warehouse, "select count(distinct encounter_id) from raw.encounters")[0][0]
    assert query(built_warehouse, "select count(*) from FactPatientEncounters")[0][0] == landed
    inferred = query(built_warehouse, "select count(*) from DimPatient where IsInferredMember")[0][0]
    assert inferred > 0  # batch one names patients that only batch two describes
    unknown = query(built_warehouse, "select count(*) from FactPatientEncounters where DiagnosisID = 0")[0][0]
    assert unknown > 0


def test_duckdb_stores_the_fact_by_date_and_each_dimension_by_key(built_warehouse):
    """Storage order (rowid) after a build, which DuckDB's zone maps and primary-key indexes rely on
    (macro storage_order)."""
    for relation, column in [
        ("FactPatientEncounters", "DateID"),
        ("DimPatient", "PatientID"),
        ("DimProvider", "ProviderID"),
        ("DimHospital", "HospitalID"),
        ("DimDiagnosis", "DiagnosisID"),
    ]:
        stored = [value for (value,) in query(built_warehouse, f"select {column} from {relation} order by rowid")]
        assert len(stored) > 1, relation
        assert stored == sorted(stored), relation


def test_a_rebuild_changes_no_key(built_warehouse, tmp_path):
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    before = _keys(db)
    dbt("run", "--full-refresh", db=db)
    assert _keys(db) == before


def test_late_batch_fills_inferred_members_and_keeps_keys(built_warehouse, late_warehouse, sample_tree):
    db = late_warehouse
    before = _keys(built_warehouse)
    after = _keys(db)
    for name, keys in before.items():
        assert {k: after[name][k] for k in keys} == keys, f"{name} keys changed"
    held = query(db, "select count(*) from DimPatient where IsInferredMember")[0][0]
    assert held < query(built_warehouse, "select count(*) from DimPatient where IsInferredMember")[0][0]
    # no member whose own row has landed stays inferred
    for dim, source_id, raw in (
        ("DimPatient", "SourcePatientID", "patients"),
        ("DimProvider", "SourceProviderID", "providers"),
        ("DimHospital", "SourceHospitalID", "hospitals"),
    ):
        described = f"{source_id} in (select {raw[:-1]}_id from raw.{raw})"
        filled = query(db, f"select count(*) from {dim} where not IsInferredMember and {described}")[0][0]
        stale = query(db, f"select count(*) from {dim} where IsInferredMember and {described}")[0][0]
        assert filled > 0 and stale == 0, dim
    assert _figures(db) == acceptance_figures([sample_tree[0], sample_tree[1]])


def test_incremental_build_equals_a_full_rebuild(late_warehouse, sample_tree, tmp_path):
    """Batch one, build, batch two, build incrementally == both batches and one full build, row for row."""
    fresh = tmp_path / WAREHOUSE_FILE
    load_into(fresh, sample_tree[0])
    load_into(fresh, sample_tree[1])
    dbt("build", db=fresh)
    incremental, full = snapshot(late_warehouse), snapshot(fresh)
    for name in CONTRACT_RELATIONS:
        assert incremental[name] == full[name], name
    # corrections took effect: some encounter's billing changed between the batches
    late_loads = "select min(load_id) from raw.load_ledger where source_uri like '%batch=002%'"
    (changed,) = query(late_warehouse, f"select count(*) from FactPatientEncounters where LoadID >= ({late_loads})")[0]
    assert changed > 0


def test_a_superseded_file_is_built_again_as_a_full_build_would(built_warehouse, sample_tree, tmp_path):
    """A late file comes again with new content, every row now older than batch one's version:
    the incremental build takes the versions raw holds now, equal to a full rebuild."""
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    late = tmp_path / "batch2"
    shutil.copytree(sample_tree[1], late)
    load_into(db, late)
    dbt("build", db=db)
    path = sorted((late / "encounters").rglob("*.csv"))[0]
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert any(not row["encounter_id"].startswith("ENC-L") for row in rows)  # it holds corrections
    for row in rows:
        row["updated_at"], row["billing_amount"] = "2026-10-01T00:00:00Z", "1.00"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    load_into(db, late)
    assert query(db, "select count(*) from raw.load_ledger where state = 'superseded'") == [(1,)]
    _build_and_compare_with_a_full_refresh(db, tmp_path)
    # the corrections lost to batch one's versions again, which had been outranked before
    ids = [row["encounter_id"] for row in rows]
    pairs = query(
        db,
        "select built.billing_amount, first.billing_amount"
        " from main_staging.int_encounters_deduplicated as built"
        " inner join raw.encounters as first on built.encounter_id = first.encounter_id"
        " inner join raw.load_ledger as load on first._load_id = load.load_id"
        " where list_contains(?, built.encounter_id) and load.source_uri like '%batch=001%'",
        [ids],
    )
    assert len(pairs) > len(ids) / 2 and all(built == first for built, first in pairs)


def test_patients_of_a_superseded_file_take_their_older_rows_again(built_warehouse, tmp_path):
    """A patients file corrects patients batch one described; it comes again with every row
    older than batch one's. DimPatient, which reads only rows written since its last build,
    must take batch one's rows back for them, as a full rebuild does."""
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    described = query(
        db,
        "select patient_id, first_name from main_staging.int_patients_deduplicated"
        " where first_name is not null order by patient_id limit 20",
    )
    assert len(described) == 20
    land = tmp_path / "land"
    path = land / "patients" / "batch=009" / "corrections.csv"
    path.parent.mkdir(parents=True)

    def write(updated_at: str, name: str) -> None:
        lines = ["patient_id,first_name,updated_at"] + [f"{pid},{name},{updated_at}" for pid, _ in described]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    write("2099-01-01T00:00:00Z", "Corrected")
    load_into(db, land)
    dbt("build", db=db)
    ids = [pid for pid, _ in described]
    names = "select FirstName from DimPatient where list_contains(?, SourcePatientID)"
    assert {name for (name,) in query(db, names, [ids])} == {"Corrected"}
    write("2000-01-01T00:00:00Z", "Stale")  # the same file, new content: older than every row
    load_into(db, land)
    assert query(db, "select count(*) from raw.load_ledger where state = 'superseded'") == [(1,)]
    _build_and_compare_with_a_full_refresh(db, tmp_path)
    got = dict(
        query(db, "select SourcePatientID, FirstName from DimPatient where list_contains(?, SourcePatientID)", [ids])
    )
    assert got == dict(described)


def test_a_slow_file_that_commits_after_a_later_load_is_built_next_time(
    built_warehouse, sample_tree, tmp_path, monkeypatch
):
    """Two loaders at once: one has claimed a late file (its load id comes first) and is still
    landing it when the other lands the rest of the late batch (higher load ids) and a build runs.
    That build stops below the claimed load; once the slow file commits, the next build takes
    everything, equal to a full rebuild. (Reading the later loads first would have moved every
    watermark past the slow file's id, and no build would ever read it.)"""
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    quick, slow = tmp_path / "quick", tmp_path / "slow"
    shutil.copytree(sample_tree[1], quick)
    slow_file = sorted((quick / "encounters").rglob("*.csv"))[0]
    (slow / slow_file.parent.relative_to(quick)).mkdir(parents=True)
    slow_file = slow_file.rename(slow / slow_file.relative_to(quick))
    con = duckdb.connect(str(db))
    (slow_id,) = con.execute(
        "insert into raw.load_ledger (load_id, run_id, entity, source_uri, etag, size_bytes, state,"
        " rows_read, rows_landed, rows_rejected, started_at, finished_at)"
        " values (nextval('raw.load_id_seq'), 'slow', 'encounters', ?, 'pending', 0, 'claimed', 0, 0, 0, now(), now())"
        " returning load_id",
        [slow_file.as_uri()],
    ).fetchone()
    con.close()
    load_into(db, quick)
    # A DuckDB loader takes any claim it finds at start for a dead loader's; on a server the slow
    # loader's claim stands while its file lands.
    con = duckdb.connect(str(db))
    con.execute("update raw.load_ledger set state = 'claimed', error_code = null where load_id = ?", [slow_id])
    con.close()
    dbt("build", db=db)
    assert query(db, "select load_horizon from main_staging.stg_landing__load_horizon") == [(slow_id - 1,)]
    assert snapshot(db) == snapshot(built_warehouse)  # the quick loads wait for the slow one

    con = duckdb.connect(str(db))
    con.execute("delete from raw.load_ledger where load_id = ?", [slow_id])  # the claim becomes the landing
    con.close()
    target = DuckDBTarget(str(db))
    monkeypatch.setattr(target, "next_load_id", lambda: slow_id)
    try:
        load(str(slow), target, progress=False)
    finally:
        target.close()
    _build_and_compare_with_a_full_refresh(db, tmp_path)
    assert query(db, "select count(*) from FactPatientEncounters where LoadID = ?", [slow_id])[0][0] > 0


def test_registries_of_rare_members_remember_the_last_load_they_examined(late_warehouse):
    """Hospitals, providers and diagnosis codes seldom get a new id: their registries record the
    load horizon of the build that examined them, so the next build reads only later loads (not
    every load since the one that gave their newest key)."""
    ((horizon,),) = query(late_warehouse, "select load_horizon from main_staging.stg_landing__load_horizon")
    for registry in ("int_hospital_keys", "int_provider_keys", "int_diagnosis_keys"):
        ((through, rows),) = query(
            late_warehouse, f"select max(registered_through_load), count(*) from main_staging.{registry}"
        )
        assert through == horizon and rows > 0, registry


def test_incremental_reads_compare_load_ids_with_a_literal(late_warehouse):
    """Each incremental model reads its starting load once and compares with it as a literal, so
    the warehouse skips raw's older storage blocks; a subquery made DuckDB scan every row."""
    compiled = late_warehouse.parent / "target" / "compiled" / "carestar" / "models"
    for path in (
        "intermediate/int_encounters_deduplicated.sql",
        "intermediate/int_patient_keys.sql",
        "intermediate/int_provider_keys.sql",
        "marts/fct_patient_encounters.sql",
        "marts/dim_patient.sql",
        "intermediate/int_billing_exceptions.sql",
    ):
        sql = (compiled / path).read_text()
        assert re.search(r"_load_id > -?\d+\b", sql), path
        assert not re.search(r"_load_id > \(", sql), path


def _landing_columns(entity: str) -> list[str]:
    """The landing contract's columns of an entity, less updated_at (written by _write_csv)."""
    return [name for name in ENTITIES[entity].column_names if name != "updated_at"]


CLAIM_COLUMNS = _landing_columns("claims")


def _claims_moving_between_encounters(db: Path) -> tuple[list[dict], dict[str, str]]:
    """Claim versions that move claims between the scopes BillingExceptions judges them in:
    the only claim of an old encounter moves to another encounter, another loses its encounter,
    a claim that named none gets one, and a new second claim arrives."""
    single = query(
        db,
        "select claims.claim_id, claims.encounter_id from main_staging.int_claims_deduplicated as claims"
        " inner join main_staging.int_encounters_deduplicated as encounters using (encounter_id)"
        " where encounters.encounter_date < date '2026-06-01' and claims.encounter_id in ("
        "  select encounter_id from main_staging.int_claims_deduplicated group by encounter_id having count(*) = 1)"
        " order by claims.claim_id limit 4",
    )
    (unnamed,) = query(
        db, "select claim_id from main_staging.int_claims_deduplicated where encounter_id is null order by 1 limit 1"
    )[0]

    def version(of_claim: str, **changes: str) -> dict:
        (row,) = query(
            db,
            f"select {', '.join(CLAIM_COLUMNS)} from main_staging.int_claims_deduplicated where claim_id = ?",
            [of_claim],
        )
        out = {c: "" if v is None else str(v) for c, v in zip(CLAIM_COLUMNS, row, strict=True)}
        return {**out, **changes, "updated_at": "2026-11-20T00:00:00Z"}

    rows = [
        version(single[0][0], encounter_id=single[1][1]),
        version(single[2][0], encounter_id=""),
        version(unnamed, encounter_id=single[3][1]),
        version(single[1][0], claim_id="CLM-LATE-0000001"),
    ]
    return rows, {"left alone": single[0][1], "named now": single[3][1]}


def test_billing_exceptions_follow_claims_that_move_between_encounters(built_warehouse, tmp_path):
    """Only the scopes a night touched are judged again, including the encounter a claim left."""
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    rows, encounters = _claims_moving_between_encounters(db)
    batch = tmp_path / "batch3"
    path = batch / "claims" / "batch=003" / "part-00000.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*CLAIM_COLUMNS, "updated_at"])
        writer.writeheader()
        writer.writerows(rows)
    load_into(db, batch)
    _build_and_compare_with_a_full_refresh(db, tmp_path)
    compiled = db.parent / "target" / "compiled" / "carestar" / "models" / "intermediate"
    assert "changed_claims" in (compiled / "int_billing_exceptions.sql").read_text()  # judged incrementally
    found = dict(query(db, "select RecordID, RuleCode from BillingExceptions where RecordType = 'encounter'"))
    assert found.get(encounters["left alone"]) == "BE05"  # its only claim moved away
    claims = dict(query(db, "select RecordID, RuleCode from BillingExceptions where RecordType = 'claim'"))
    assert claims.get(rows[1]["claim_id"]) == "BE04"  # names no encounter now
    second = "select count(*) from BillingExceptions where RuleCode = 'BE06' and SourceEncounterID = ?"
    assert query(db, second, [encounters["named now"]]) == [(1,)]  # a claim that named none joined it


def test_a_claim_written_twice_between_judgements_is_followed_through_raw(built_warehouse, tmp_path):
    """A claim moves twice (encounter and week) while only int_claims_deduplicated is built in
    between: the row the second write replaced was never judged or counted, so the encounter it
    was judged in and the week it was counted in are found in raw."""
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    rows, encounters = _claims_moving_between_encounters(db)
    mover = rows[0]  # the only claim of encounters["left alone"], moving to another encounter
    counted_in = mover["adjudicated_date"]  # its week in WeeklyDeniedClaims now, which the first write leaves
    assert counted_in and counted_in[:7] not in ("2026-08", "2026-10")
    mover = {**mover, "adjudicated_date": "2026-08-05"}
    (elsewhere,) = query(
        db,
        "select encounter_id from main_staging.int_encounters_deduplicated where encounter_id not in (?, ?)"
        " order by 1 limit 1",
        [encounters["left alone"], mover["encounter_id"]],
    )[0]
    replaced = "select replaced_encounter_id from main_staging.int_claims_deduplicated where claim_id = ?"
    later = {"encounter_id": elsewhere, "adjudicated_date": "2026-10-07", "updated_at": "2026-11-21T00:00:00Z"}
    second = {**mover, **later}
    for night, version in ((3, mover), (4, second)):
        batch = tmp_path / f"batch{night}"
        _write_csv(batch / "claims" / f"batch=00{night}" / "part-00000.csv", CLAIM_COLUMNS, [version])
        load_into(db, batch)
        if night == 3:
            dbt("run", "--select", "stg_landing__load_horizon", "int_claims_deduplicated", db=db)
            assert query(db, replaced, [mover["claim_id"]]) == [(encounters["left alone"],)]
            week_left = "select replaced_adjudicated_date from main_staging.int_claims_deduplicated where claim_id = ?"
            assert str(query(db, week_left, [mover["claim_id"]])[0][0]) == counted_in
    _build_and_compare_with_a_full_refresh(db, tmp_path)
    # the second write replaced the first night's row, which no judgement saw
    assert query(db, replaced, [mover["claim_id"]]) == [(mover["encounter_id"],)]
    found = dict(query(db, "select RecordID, RuleCode from BillingExceptions where RecordType = 'encounter'"))
    assert found.get(encounters["left alone"]) == "BE05"  # its only claim left two writes ago


PROVIDER_COLUMNS = _landing_columns("providers")

_PLACED_CLAIMS = """
    select
        claims.claim_id,
        claims.provider_id,
        date_trunc('week', claims.adjudicated_date) as week,
        coalesce(providers.ProviderGroup, 'Unknown') as provider_group,
        coalesce(hospitals.Region, 'Unknown') as region
    from main_staging.int_claims_deduplicated as claims
    left join DimProvider as providers on claims.provider_id = providers.SourceProviderID
    left join DimHospital as hospitals on providers.SourceHospitalID = hospitals.SourceHospitalID
    where claims.adjudicated_date is not null"""


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*columns, "updated_at"])
        writer.writeheader()
        writer.writerows(rows)


def _latest(db: Path, table: str, columns: list[str], key: str, value: str, **changes: str) -> dict:
    """A newer version of one row of a deduplicated table, as a landing file gives it."""
    (row,) = query(db, f"select {', '.join(columns)} from main_staging.{table} where {key} = ?", [value])
    out = {c: "" if v is None else str(v) for c, v in zip(columns, row, strict=True)}
    return {**out, **changes, "updated_at": "2026-11-20T00:00:00Z"}


def test_weekly_denied_claims_follow_claims_and_providers_that_move(built_warehouse, tmp_path):
    """Only the weeks a night touched are counted again, including the week a claim left and
    every week of a provider that changed group."""
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    # a provider with claims in several weeks changes group: each of those weeks changes
    (mover,) = query(
        db,
        f"with placed as ({_PLACED_CLAIMS}) select provider_id from placed where provider_id in ("
        " select SourceProviderID from DimProvider where not IsInferredMember)"
        " group by provider_id having count(distinct week) > 3 order by 1 limit 1",
    )[0]
    # the only claim of its week, group and region (another provider's) moves to another week
    (alone, week, group, region) = query(
        db,
        f"with placed as ({_PLACED_CLAIMS}) select claim_id, week, provider_group, region from placed"
        " where provider_id <> ? and (week, provider_group, region) in ("
        " select week, provider_group, region from placed group by all having count(*) = 1) order by 1 limit 1",
        [mover],
    )[0]
    moved = _latest(db, "int_claims_deduplicated", CLAIM_COLUMNS, "claim_id", alone, adjudicated_date="2026-10-07")
    regrouped = _latest(db, "int_providers_deduplicated", PROVIDER_COLUMNS, "provider_id", mover)
    regrouped["provider_group"] = "Moved Group"
    _write_csv(tmp_path / "batch3" / "claims" / "batch=003" / "part-00000.csv", CLAIM_COLUMNS, [moved])
    _write_csv(tmp_path / "batch3" / "providers" / "batch=003" / "part-00000.csv", PROVIDER_COLUMNS, [regrouped])
    load_into(db, tmp_path / "batch3")
    _build_and_compare_with_a_full_refresh(db, tmp_path)
    compiled = db.parent / "target" / "compiled" / "carestar" / "models" / "intermediate"
    assert "changed_claims" in (compiled / "int_weekly_claims.sql").read_text()  # counted incrementally
    cell = "select count(*) from WeeklyDeniedClaims where WeekStartDate = ? and ProviderGroup = ? and Region = ?"
    assert query(db, cell, [week.date(), group, region]) == [(0,)]  # the week its only claim left
    assert (
        query(db, "select count(distinct WeekStartDate) from WeeklyDeniedClaims where ProviderGroup = 'Moved Group'")[
            0
        ][0]
        > 3
    )


ENCOUNTER_COLUMNS = _landing_columns("encounters")


def test_an_inferred_diagnosis_keeps_the_spelling_it_first_arrived_with(built_warehouse, tmp_path):
    """A code no file describes, named by encounters in two spellings on two nights (ZZ9.9, then
    ZZ99: one member), reads as a full rebuild reads it, also after the file that first named it
    is superseded; the nightly build looks up only the inferred members it writes."""
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    (known,) = query(db, "select encounter_id from main_staging.int_encounters_deduplicated order by 1 limit 1")[0]
    for night, spelling in ((3, "ZZ9.9"), (4, "ZZ99")):
        late = _latest(
            db,
            "int_encounters_deduplicated",
            ENCOUNTER_COLUMNS,
            "encounter_id",
            known,
            encounter_id=f"ENC-SPELLING-{night}",
            diagnosis_code=spelling,
        )
        _write_csv(
            tmp_path / f"batch{night}" / "encounters" / f"batch=00{night}" / "part-00000.csv", ENCOUNTER_COLUMNS, [late]
        )
        load_into(db, tmp_path / f"batch{night}")
        if night == 3:
            dbt("build", db=db)
    _build_and_compare_with_a_full_refresh(db, tmp_path)
    member = "select DiagnosisCode, DiagnosisDescription from DimDiagnosis where DiagnosisCode like 'Z%Z%9%'"
    assert query(db, member) == [("ZZ9.9", "Unknown diagnosis code")]
    compiled = db.parent / "target" / "compiled" / "carestar" / "models" / "marts" / "dim_diagnosis.sql"
    assert "inferred_members" in compiled.read_text()  # built incrementally
    # the first night's file comes again, spelled ZZ.99: its new version is the latest load,
    # so the second night's ZZ99 is now the first spelling raw holds
    first = tmp_path / "batch3" / "encounters" / "batch=003" / "part-00000.csv"
    first.write_text(first.read_text().replace("ZZ9.9", "ZZ.99"))
    load_into(db, tmp_path / "batch3")
    assert query(db, "select count(*) from raw.load_ledger where state = 'superseded'") == [(1,)]
    shutil.rmtree(tmp_path / "full")
    _build_and_compare_with_a_full_refresh(db, tmp_path)
    assert query(db, member) == [("ZZ99", "Unknown diagnosis code")]


@pytest.mark.parametrize(
    "later_vars",
    ["{as_of_date: '2027-01-15'}", "{as_of_date: '2026-06-01'}", "{billing_norm_multiplier: 2}"],
    ids=["a later run date", "an earlier run date", "another threshold"],
)
def test_billing_exceptions_follow_the_run_date_and_thresholds(late_warehouse, tmp_path, later_vars):
    """BE05 depends on the run date and every rule on the vars: a build with nothing new but
    another date or threshold gives what a full build with them gives."""
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(late_warehouse, db)
    before = query(db, "select count(*) from BillingExceptions")
    _build_and_compare_with_a_full_refresh(db, tmp_path, "--vars", later_vars)
    assert query(db, "select count(*) from BillingExceptions") != before


def test_a_build_with_nothing_new_changes_nothing(late_warehouse, tmp_path):
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(late_warehouse, db)
    before = snapshot(db)
    dbt("build", db=db)
    assert snapshot(db) == before


def test_every_run_leaves_an_audit_trail_and_failures_are_one_query_away(built_warehouse, tmp_path):
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    statuses = dict(
        query(db, "select resource_type, count(*) from dbt_run_audit where status in ('success', 'pass') group by 1")
    )
    assert statuses["model"] >= 30 and statuses["test"] > 50
    con = duckdb.connect(str(db))
    con.execute("alter table raw.encounters rename column billing_amount to billing_amount_lost")  # an injected failure
    con.close()
    proc = dbt("build", db=db, check=False)
    assert proc.returncode != 0
    failed = query(db, "select node_id, message from dbt_run_audit where status = 'error' order by node_id")
    assert any(node.endswith("stg_landing__encounters") for node, _ in failed)
    assert all("'" not in message.replace("'...'", "") for _, message in failed)  # quoted values blanked


def test_a_row_whose_load_left_the_ledger_is_kept_and_flagged(built_warehouse, tmp_path):
    # Staging joins each row's file and load time from the ledger; a row whose ledger row is
    # gone stays in staging (left join) and the not_null test on _source_file fails.
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    con = duckdb.connect(str(db))
    (load_id,) = con.execute("select min(_load_id) from raw.hospitals").fetchone()
    rows = con.execute("select count(*) from raw.hospitals where _load_id = ?", [load_id]).fetchone()[0]
    con.execute("delete from raw.load_ledger where load_id = ?", [load_id])
    con.close()
    proc = dbt("test", "--select", "stg_landing__hospitals", db=db, check=False)
    assert proc.returncode != 0 and "not_null_stg_landing__hospitals__source_file" in proc.stdout
    kept = query(db, "select count(*) from main_staging.stg_landing__hospitals where _load_id = ?", [load_id])
    assert kept == [(rows,)] and rows > 0
