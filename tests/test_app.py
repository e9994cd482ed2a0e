"""The dashboard pages through Streamlit's AppTest, on an empty database and on the demo data."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from conftest import PROJECT, count
from indicators import db
from indicators.demo import load_demo

APP = str(PROJECT / "app.py")


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_empty_database_offers_demo_data(db_path):
    at = run_app()
    assert at.title[0].value == "Structures et imports"
    assert any("La base est vide" in info.value for info in at.info)
    assert at.button[0].label == "Charger les données de démonstration"


def test_demo_button_loads_structures_and_shows_them(db_path):
    at = run_app()
    at.button[0].click().run(timeout=180)
    assert not at.exception
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM structure") == 300
    assert [m.label for m in at.metric] == ["Structures", "Réseaux", "Imports en vigueur"]
    assert at.metric[0].value == "300"
    assert len(at.dataframe) == 2


def test_structures_and_history_are_listed(db_path):
    con = db.connect(db_path)
    load_demo(con, 40, seed=3, today=date(2026, 11, 27))
    at = run_app()
    structures, history = at.dataframe[0].value, at.dataframe[1].value
    assert len(structures) == 40
    assert set(history["status"]) == {"importé"}
    assert list(history["filename"]) == ["démonstration – valeurs", "démonstration – structures"]
