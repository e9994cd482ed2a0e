"""Named SQL and the one connection cache: what the engine runs is in sql/, and the pages share db's connection."""

from __future__ import annotations

import subprocess
import sys

from helpers import PROJECT
from indicators import db, settings
from ui import access


def test_every_named_statement_says_what_it_is_for_on_its_first_line():
    files = sorted(settings.SQL_DIR.glob("*.sql"))
    assert files
    silent = [f.name for f in files if not f.read_text(encoding="utf-8").startswith("-- ")]
    assert silent == []


def test_the_pages_use_the_connection_db_keeps_for_the_file(db_path):
    assert access.connection() is db.connect(db_path)
    # Closed by the command line or a test, it is opened again: no second cache keeps a closed connection.
    db.close(db_path)
    reopened = access.connection()
    assert reopened is db.connect(db_path)
    assert access.data_version()[0] == 0  # no import yet


def test_a_new_base_holds_the_shipped_referentiel_in_force_and_logs_its_loading(con):
    assert db.referentiel_in_force(con) == "2023"
    logged = con.execute("SELECT action, detail FROM audit_log").fetchall()
    assert ("referentiel", "version 2023 chargée (livre)") in logged
    engagements = db.query(con, "compliance_engagements", {"version": "2023"})
    assert [number for number, _, _ in engagements] == sorted(number for number, _, _ in engagements)
    assert len(engagements) > 0


def test_the_domain_package_never_imports_streamlit():
    # Every module of indicators/ imported in a fresh interpreter: Streamlit stays out (DESIGN: the domain is
    # importable and testable without it; only ui/ and the pages use it).
    code = ("import importlib, pkgutil, sys, indicators\n"
            "for module in pkgutil.walk_packages(indicators.__path__, 'indicators.'):\n"
            "    if module.name != 'indicators.__main__':\n"
            "        importlib.import_module(module.name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
