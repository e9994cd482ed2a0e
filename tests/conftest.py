"""Shared fixtures: a real DuckDB file per test, the command line in-process, the dashboard served and a page of
Chromium. Other helpers: tests/helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import chromium_page, served
from indicators import cli, db


@pytest.fixture
def db_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "indicateurs.duckdb"
    monkeypatch.setenv("INDICATEURS_DB", str(path))
    yield path
    db.close_all()


@pytest.fixture
def con(db_path):
    """The shared connection to a fresh database file (schema and référentiel loaded)."""
    return db.connect(db_path)


@pytest.fixture
def run_cli(db_path, capsys):
    """Run ``python -m indicators`` in-process on the test database; returns (exit code, stdout, stderr)."""
    def run(*args: str):
        argv = [str(a) for a in args]
        if "--db" not in argv and argv and argv[0] in cli.COMMANDS:
            argv += ["--db", str(db_path)]
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


@pytest.fixture
def server(tmp_path):
    """Streamlit serving app.py headless on a free port, on its own empty database; yields its address."""
    with served(tmp_path / "app.duckdb") as url:
        yield url


@pytest.fixture
def page():
    """A page of Debian's Chromium (Playwright)."""
    with chromium_page() as page:
        yield page
