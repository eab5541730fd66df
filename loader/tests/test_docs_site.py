"""`dbt docs generate` builds the docs site; headless Chromium renders it and finds the fact's lineage and
the dashboards (exposures). A screenshot is saved beside the test's output."""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import WAREHOUSE_FILE, dbt

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]


@pytest.fixture(scope="module")
def docs_site(built_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    db = out / WAREHOUSE_FILE
    shutil.copy(built_warehouse, db)
    dbt("docs", "generate", db=db)
    site = out / "target"
    assert (site / "index.html").exists() and (site / "catalog.json").exists()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", out
    server.shutdown()


def _chromium(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed (make test installs Debian's chromium)"
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={args[0]}", *args[1:]], capture_output=True, text=True, timeout=120
    )


def test_fact_lineage_and_exposures_render(docs_site):
    url, out = docs_site
    page = f"{url}/index.html#!/model/model.carestar.fct_patient_encounters"
    dom = _chromium(str(out / "profile-dom"), "--dump-dom", page).stdout
    assert "fct_patient_encounters" in dom
    assert "stg_landing__encounters" in dom  # what it is built from
    assert "billing_dashboard" in dom or "Billing by region and diagnosis" in dom  # who reads it
    shot = out / "fct_patient_encounters.png"
    _chromium(str(out / "profile-shot"), f"--screenshot={shot}", "--window-size=1400,1000", page)
    assert shot.exists() and shot.stat().st_size > 10_000
