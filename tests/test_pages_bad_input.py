"""The pages facing bad input: a base held by another program, names that carry Markdown, a server started
without the project's configuration. AppTest for the pages, a real server and Chromium for the start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from helpers import PROJECT, canonical, start_server, stop_server, wait_healthy
from indicators import db, importer, rights
from ui import frame

APP = str(PROJECT / "app.py")


def open_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


def test_mon_service_says_in_french_that_the_base_is_busy_then_works_once_it_is_free(db_path, monkeypatch, tmp_path):
    importer.import_path(db.connect(db_path), canonical(tmp_path / "a.csv", ["S1;Accueil;CAF;decroche;2025-01-01;"
                                                                              "2025-01-31;85;;;"]), rights.COMMAND_LINE)
    db.close_all()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from indicators import db\nwith db.lease(sys.argv[1]):\n"
                               "    print('pret', flush=True); time.sleep(120)", str(db_path)],
        env={**os.environ, "PYTHONPATH": str(PROJECT)}, stdout=subprocess.PIPE, text=True)
    monkeypatch.setenv("INDICATEURS_LOCK_TIMEOUT", "0.5")
    try:
        assert holder.stdout.readline().strip() == "pret"
        at = open_app()
        assert not at.exception
        warning, = at.warning.values
        assert "occupée par un autre programme" in warning and "Nouvel essai automatique" in warning
        assert "Réessayer maintenant" in [b.label for b in at.button]
    finally:
        holder.kill()
        holder.wait()
    at.button(key="database_retry").click().run()
    assert not at.exception
    assert at.title[0].value == "Mon service"
    assert any("S1" in s.value for s in at.subheader)


def test_a_damaged_base_stops_the_page_with_a_french_message(db_path):
    db_path.write_bytes(b"code_structure;valeur\nS1;85\n")  # a CSV where the base should be
    at = open_app()
    assert not at.exception
    assert any("n'est pas une base DuckDB" in e for e in at.error.values)


def test_names_from_a_file_are_shown_as_text_never_as_markdown(db_path, tmp_path):
    # An image in a name would make every browser that shows it fetch an outside address.
    name = "![pixel](http://exemple.invalid/p.png) [lien](http://exemple.invalid) **gras**"
    path = canonical(tmp_path / "noms.csv", [f"S1;{name};_Réseau_ *x*;decroche;2025-01-01;2025-01-31;85;;;"])
    assert importer.import_path(db.connect(db_path), path, rights.COMMAND_LINE).outcome == "importe"
    at = open_app()
    assert not at.exception
    heading = at.subheader[0].value
    # Escaped Markdown, and an invisible word joiner after « http » so that no link is made either.
    assert heading.startswith("S1 – \\!\\[pixel\\](http\u2060\\://exemple.invalid/p.png) \\[lien\\]")
    assert "\\*\\*gras\\*\\*" in heading
    assert "\\_Réseau\\_ \\*x\\*" in at.caption[0].value


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel writes them) of the sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


@pytest.mark.browser
def test_started_from_another_folder_the_dashboard_listens_on_loopback_only(db_path, tmp_path, page):
    """Streamlit reads the configuration beside app.py wherever it is started from: the server listens on
    127.0.0.1 only, and the page serves the app (the first-run screen)."""
    server, port = start_server(db_path, cwd=tmp_path)
    try:
        url = wait_healthy(server, port)
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing on other interfaces
        page.goto(url)
        page.get_by_text("La base est vide").wait_for(timeout=60_000)
        assert page.title() == frame.TITLE
    finally:
        stop_server(server)


@pytest.mark.parametrize("option, value, said", [
    ("server.address", None, "toutes les interfaces réseau"),
    ("server.enableXsrfProtection", False, "requêtes intersites (XSRF)"),
    ("server.maxUploadSize", 2000, "taille d'envoi"),
])
def test_an_unsafe_server_setting_stops_every_page_in_french(db_path, option, value, said):
    from streamlit import config

    previous = config.get_option(option)
    config.set_option(option, value)
    try:
        at = open_app()
    finally:
        config.set_option(option, previous)
    assert not at.exception
    refusal, = at.error.values
    assert refusal.startswith("Réglages du serveur non sûrs") and said in refusal
    assert not at.title  # no page content


def test_a_wrong_setting_stops_every_page_with_a_french_message(db_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_MAX_ROWS", "beaucoup")
    at = open_app()
    assert not at.exception
    assert at.error.values == ["Réglage INDICATEURS_MAX_ROWS invalide : « beaucoup » (attendu : un nombre entier "
                               "supérieur ou égal à 1). Nombre maximal de lignes d'un fichier."]
    assert not at.title
