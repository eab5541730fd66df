"""docs/runbook.md, walked through on DuckDB with an injected failure: every SQL step runs and answers."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime

import pytest
from conftest import REPO, WAREHOUSE_FILE, dbt, query

from carestar.land import DuckDBTarget
from carestar.pipeline import load

pytestmark = pytest.mark.slow


def _steps() -> dict[str, str]:
    text = (REPO / "docs" / "runbook.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return {re.match(r"-- step (\w+)", b).group(1): b for b in blocks}


def test_the_runbook_recovers_a_failed_night(built_warehouse, sample_tree, tmp_path, monkeypatch):
    steps = _steps()
    assert list(steps) == ["1a", "1b", "2", "4a", "5a", "5b", "5c"]
    db = tmp_path / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)

    # the night: the database fails while landing encounters, and the build after it breaks
    target = DuckDBTarget(str(db))
    original = target.land_valid

    def flaky(entity, *args):
        if entity.name == "encounters":
            raise RuntimeError("could not write: disk quota exceeded")
        return original(entity, *args)

    monkeypatch.setattr(target, "land_valid", flaky)
    try:
        night = load(str(sample_tree[1]), target, progress=False)
    finally:
        target.close()
    assert night.count("failed") > 0
    dbt(
        "build",
        "--select",
        "int_billing_exceptions billing_exceptions",
        "--vars",
        "{billing_norm_multiplier: 'broken'}",
        db=db,
        check=False,
    )

    # 1. the failed run and its error
    failed_nodes = query(db, steps["1a"])
    assert any("billing_exceptions" in node for _, node, _, _ in failed_nodes)
    runs = query(db, steps["1b"])
    assert runs[0][1] == "failed" and runs[0][4] > 0
    # 2. the missing files
    missing = query(db, steps["2"])
    assert missing and {entity for entity, *_ in missing} == {"encounters"}
    # 3. rerun the load for the window (today: these files have no partition date in their path)
    today = datetime.now(UTC).date()
    target = DuckDBTarget(str(db))
    try:
        rerun = load(str(sample_tree[1]), target, progress=False, since=today, until=today)
    finally:
        target.close()
    assert rerun.count("landed") == len(missing) and rerun.count("failed") == 0
    # 4. rebuild; no claim is left open to hold loads back
    dbt("build", db=db)
    assert query(db, steps["4a"]) == []
    # 5. verify
    assert query(db, steps["5a"]) == []
    assert query(db, steps["5b"]) == []
    assert query(db, steps["5c"])
