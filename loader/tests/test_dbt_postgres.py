"""The same project on PostgreSQL (a throwaway cluster): dbt build passes and every relation equals DuckDB's."""

from __future__ import annotations

import psycopg
import pytest
from conftest import CONTRACT_RELATIONS, dbt, query

from carestar.land import PostgresTarget
from carestar.pipeline import load
from carestar.summary import ACCEPTANCE_QUERY

pytestmark = pytest.mark.slow

RELATIONS = {k: v for k, v in CONTRACT_RELATIONS.items() if k != "LoadQuality"}  # load times differ


@pytest.fixture(scope="module")
def pg_warehouse(postgres_env, sample_tree, tmp_path_factory, built_warehouse):
    env = {**postgres_env, "CARESTAR_TARGET": "postgres"}
    conninfo = "host={PGHOST} port={PGPORT} user={PGUSER} dbname={PGDATABASE}".format(**postgres_env)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("drop schema if exists raw cascade")
        conn.execute("drop schema if exists public cascade")
        conn.execute("drop schema if exists public_staging cascade")
        conn.execute("drop schema if exists public_reference cascade")
        conn.execute("create schema public")
    target = PostgresTarget(conninfo)
    try:
        load(str(sample_tree[0]), target, progress=False)
    finally:
        target.close()
    out = tmp_path_factory.mktemp("dbt-postgres") / "unused.duckdb"
    dbt("build", db=out, env=env)
    return conninfo


def _pg(conninfo: str, sql: str) -> list[tuple]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(sql).fetchall()


def test_acceptance_query_runs_verbatim_and_agrees(pg_warehouse, built_warehouse):
    pg = sorted(_pg(pg_warehouse, ACCEPTANCE_QUERY))
    duck = sorted(query(built_warehouse, ACCEPTANCE_QUERY))
    assert pg == duck and len(pg) > 50


@pytest.mark.parametrize("relation", RELATIONS)
def test_every_relation_equals_duckdb(pg_warehouse, built_warehouse, relation):
    sql = f"select * from {relation} order by {RELATIONS[relation]}"
    pg = _pg(pg_warehouse, sql)
    duck = query(built_warehouse, sql)
    assert len(pg) == len(duck) > 0
    assert pg == duck


def test_incremental_merge_after_the_late_batch_equals_duckdb(
    pg_warehouse, late_warehouse, sample_tree, postgres_env, tmp_path
):
    target = PostgresTarget(pg_warehouse)
    try:
        load(str(sample_tree[1]), target, progress=False)
    finally:
        target.close()
    dbt("build", db=tmp_path / "unused.duckdb", env={**postgres_env, "CARESTAR_TARGET": "postgres"})
    for relation, order in RELATIONS.items():
        sql = f"select * from {relation} order by {order}"
        assert _pg(pg_warehouse, sql) == query(late_warehouse, sql), relation


def test_postgres_physical_design(pg_warehouse):
    """Indexes and the materialized view survive rebuilds (this runs after the incremental build)."""
    views = _pg(pg_warehouse, "select matviewname from pg_matviews")
    assert ("encountersbyregion",) in views
    fact = _pg(pg_warehouse, "select lower(indexdef) from pg_indexes where tablename = 'factpatientencounters'")
    defs = " ".join(d for (d,) in fact)
    assert all(f"({key})" in defs for key in ("dateid", "patientid", "providerid", "hospitalid", "diagnosisid"))
    partial = _pg(
        pg_warehouse,
        "select indexdef from pg_indexes where tablename = 'int_appointments_deduplicated' and indexdef like '%WHERE%'",
    )
    assert len(partial) == 1 and "missed" in partial[0][0]
