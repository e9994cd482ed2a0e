"""Sign-in through a real OpenID Connect provider, in Debian's Chromium, on the demonstration programme (60
structures): what a director of one CAF, the head of the CAF network, an administrator and a person without a
grant each see, download, import and change; and the banner of « mode local » when no sign-in is configured.

Besides the page's text, every message the server sends to the browser (the websocket's frames: tables, charts,
options, before they are drawn) is searched for another structure's code or name: what is not sent cannot leak.
One provider, one server and one browser for the module; a fresh browser context per person."""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from helpers import CANONICAL_HEADER, chromium, new_page, served
from indicators import db, grants, rights
from indicators.demo import load_demo
from oidc import provider, served_with_auth, sign_in

pytestmark = pytest.mark.browser

# ProConnect's claims: given_name, usual_name, email (and the subject).
DIRECTRICE = {"sub": "pc-directrice-caf", "email": "claire.martin@caf-yvelines.fr", "given_name": "Claire",
              "usual_name": "Martin"}
TETE_CAF = {"sub": "pc-tete-caf", "email": "paul.durand@cnaf.fr", "given_name": "Paul", "usual_name": "Durand"}
ADMINISTRATRICE = {"sub": "pc-admin-ditp", "email": "anne.roux@modernisation.gouv.fr", "given_name": "Anne",
                   "usual_name": "Roux"}
SANS_DROIT = {"sub": "pc-sans-droit", "email": "jean.sans@exemple.fr", "given_name": "Jean", "usual_name": "Sans"}
# Made to the e-mail before the server starts, as an administrator would before a first sign-in.
GRANTS = [(DIRECTRICE, rights.DIRECTOR, (), ("CAF-0001",)), (TETE_CAF, rights.NETWORK_HEAD, ("CAF",), ()),
          (ADMINISTRATRICE, rights.ADMIN, (), ())]

OWN = "CAF-0001"
CAF = {f"CAF-{n:04d}" for n in range(1, 8)}
# No word boundary before a code: in the websocket's protobuf a string follows its length, which may be a letter.
CODE = re.compile(r"(?:CAF|CPAM|FT|FS|PREF|DGFIP|URSSAF)-\d{4}(?!\d)")
NAVIGATION = ["Mon service", "Comparaison", "Import", "Structures et imports", "Référentiel", "Calcul du niveau"]
LOCAL_BANNER = "Mode local, sans authentification : toute personne qui ouvre cette adresse a tous les droits."
SETTLE_MS = 60_000
# What shows a script run is not over: Streamlit's status widget (« Stop ») and the elements of the last run not yet
# redrawn.
BUSY = """() => [...document.querySelectorAll('[data-testid="stStatusWidget"], [data-stale="true"]')]
    .map(element => element.getAttribute('data-testid') || element.tagName)"""


@dataclass
class Programme:
    database: Path
    local_copy: Path
    names: dict[str, str]  # code → name, every structure of the register


@dataclass
class Visitor:
    """A signed-in browser context, and what the server sent it since the last page opened."""

    page: object
    app: str
    frames: list[str] = field(default_factory=list)

    def open(self, path: str, wait_for: str) -> None:
        self.frames.clear()
        self.page.goto(self.app + path)
        self.page.get_by_text(wait_for, exact=False).first.wait_for(timeout=SETTLE_MS)
        settle(self.page)

    def sent(self) -> str:
        return "\n".join(self.frames)


@pytest.fixture(scope="module")
def programme(tmp_path_factory) -> Programme:
    """The demo base with its grants, closed before any server opens it (one process holds a DuckDB file), and
    a copy of it for the server without sign-in."""
    folder = tmp_path_factory.mktemp("connexion")
    database = folder / "programme.duckdb"
    con = db.connect(database)
    try:
        load_demo(con, rights.COMMAND_LINE, 60, seed=3)
        for person, role, networks, structures in GRANTS:
            grants.grant(con, rights.COMMAND_LINE, email=person["email"], role=role, networks=networks,
                         structures=structures)
        names = dict(con.cursor().execute("SELECT code, name FROM structure").fetchall())
    finally:
        db.close_all()
    local_copy = folder / "local.duckdb"
    shutil.copyfile(database, local_copy)
    return Programme(database, local_copy, names)


@pytest.fixture(scope="module")
def app(programme):
    with provider([DIRECTRICE, TETE_CAF, ADMINISTRATRICE, SANS_DROIT]) as provider_url, \
            served_with_auth(programme.database, provider_url) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def visitor(browser, app: str) -> Visitor:
    """A fresh context whose websocket frames are recorded as text."""
    page = new_page(browser)
    seen = Visitor(page, app)

    def record(payload) -> None:
        seen.frames.append(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)

    page.on("websocket", lambda socket: socket.on("framereceived", record))
    return seen


@contextmanager
def signed_in(browser, app: str, person: dict):
    """A fresh context signed in as ``person`` through the provider's form, closed at the end."""
    seen = visitor(browser, app)
    try:
        sign_in(seen.page, app, person["sub"])
        yield seen
    finally:
        seen.page.context.close()


@pytest.fixture(scope="module")
def directrice(browser, app):
    with signed_in(browser, app, DIRECTRICE) as seen:
        yield seen


@pytest.fixture(scope="module")
def tete(browser, app):
    with signed_in(browser, app, TETE_CAF) as seen:
        yield seen


@pytest.fixture(scope="module")
def administratrice(browser, app):
    with signed_in(browser, app, ADMINISTRATRICE) as seen:
        yield seen


def settle(page, timeout_s: float = 120) -> None:
    """Until the script run is over: nothing busy at two looks 300 ms apart."""
    deadline, calm = time.monotonic() + timeout_s, 0
    while calm < 2:
        busy = page.evaluate(BUSY)
        calm = 0 if busy else calm + 1
        if busy and time.monotonic() > deadline:
            raise AssertionError(f"la page ne s'est pas stabilisée en {timeout_s:.0f} s : {busy}")
        page.wait_for_timeout(300)


def shown_text(page) -> str:
    # markdown_literal puts a word joiner before « @ » so that an e-mail is not turned into a link.
    return page.locator("body").inner_text().replace("\u2060", "")


def navigation(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')].map(link =>
        (link.querySelector('[data-testid="stMarkdownContainer"]') || link).innerText.trim())""")


def alerts(page, containing: str) -> list[str]:
    """The texts of the alerts that contain ``containing``, without their icon's name."""
    found = page.locator('[data-testid="stAlert"] [data-testid="stMarkdownContainer"]').filter(has_text=containing)
    return [text.strip() for text in found.all_inner_texts()]


def codes_in(text: str) -> set[str]:
    return set(CODE.findall(text))


def others_named(programme: Programme, text: str, seen: set[str]) -> list[str]:
    """The names of structures outside ``seen`` that appear in ``text`` (a name inside a seen one's excepted)."""
    own_names = [programme.names[code] for code in seen]
    return sorted(name for code, name in programme.names.items()
                  if code not in seen and name in text and not any(name in own for own in own_names))


def picker_options(page, label: str, within: str = '[data-testid="stSidebar"]') -> list[str]:
    """The options a selectbox lists when opened (those in view: the list is drawn lazily)."""
    box = page.locator(f'{within} [data-testid="stSelectbox"]').filter(has_text=label)
    box.locator("input").click()
    page.get_by_role("option").first.wait_for(timeout=SETTLE_MS)
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def downloaded(page, label: str) -> bytes:
    with page.expect_download(timeout=SETTLE_MS) as download:
        page.get_by_role("button", name=label, exact=True).click()
    return Path(download.value.path()).read_bytes()


def workbook_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for value in row if value is not None)


def csv_text(content: bytes) -> str:
    rows = csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";")
    return "\n".join(";".join(row) for row in rows)


def values_file(folder: Path, name: str, codes: list[str], month: str) -> Path:
    """One « taux de décroché » value per structure for ``month`` (before the demo's data: no conflict)."""
    rows = [f"{code};Structure {code};CAF;decroche;{month}-01;{month}-28;90;900;1000;" for code in codes]
    path = folder / name
    path.write_text("\n".join([CANONICAL_HEADER, *rows, ""]), encoding="utf-8")
    return path


def upload(seen: Visitor, path: Path, refusal: str | None = None) -> None:
    """Drop a file on the Import page and import it; a file outside the person's rights is refused as soon as it
    is checked (``refusal``, the button left disabled), before any click."""
    seen.open("/import_fichiers", "Fichiers à importer")
    seen.page.locator('input[type="file"]').set_input_files(str(path))
    seen.page.get_by_text("format long canonique" if refusal is None else refusal).first.wait_for(timeout=SETTLE_MS)
    button = seen.page.get_by_role("button", name="Importer 1 fichier")
    if refusal is None:
        button.click()
    else:
        assert button.is_disabled()


# The director of CAF-0001


def test_director_navigation_has_no_acces_page_and_the_picker_holds_its_structure_only(directrice, programme):
    directrice.open("/", "Niveau atteignable")
    assert navigation(directrice.page) == NAVIGATION
    assert "Connecté : Claire Martin <claire.martin@caf-yvelines.fr>" in shown_text(directrice.page)
    assert picker_options(directrice.page, "Structure") == [f"{OWN} – {programme.names[OWN]}"]
    assert picker_options(directrice.page, "Réseau") == ["Tous les réseaux", "CAF"]
    assert codes_in(directrice.sent()) == {OWN}
    assert others_named(programme, directrice.sent(), {OWN}) == []
    # The address of a page not offered (a bookmark, a link from a colleague) says for whom it is, in French.
    directrice.open("/acces", "Cette page est réservée aux administrateurs du programme.")
    assert "Page not found" not in shown_text(directrice.page)
    assert directrice.page.get_by_text("Droits en vigueur").count() == 0


def test_director_comparaison_names_its_structure_only_and_the_search_finds_no_other(directrice, programme):
    directrice.open("/comparaison", "Exporter la sélection")
    page = directrice.page
    assert codes_in(shown_text(page)) == {OWN}
    assert codes_in(page.content()) == {OWN}
    assert codes_in(directrice.sent()) == {OWN}
    assert others_named(programme, directrice.sent(), {OWN}) == []
    # Its peers, anonymised: the 6 other CAF, then the 47 other « Accueil physique » of every network.
    assert "Comparée, sans les nommer, aux 6 autres structures du réseau CAF." in shown_text(page)
    directrice.frames.clear()
    page.get_by_text("même typologie, tous réseaux").click()
    page.get_by_text("Comparée, sans les nommer, aux 47 autres structures").wait_for(timeout=SETTLE_MS)
    settle(page)
    assert codes_in(directrice.sent()) <= {OWN}
    assert others_named(programme, directrice.sent(), {OWN}) == []
    search = page.get_by_label("Ouvrir une structure dans « Mon service » (code ou nom)")
    search.fill("CAF-0002")
    search.press("Enter")
    # No structure matches: no choice is offered and « Ouvrir » stays disabled.
    expect(page.get_by_role("button", name="Ouvrir", exact=True)).to_be_disabled(timeout=SETTLE_MS)
    settle(page)
    assert programme.names["CAF-0002"] not in directrice.sent()


@pytest.mark.parametrize("path, settled", [("/", "Niveau atteignable"), ("/comparaison", "Exporter la sélection")])
def test_director_downloads_hold_its_structure_only(directrice, programme, path, settled):
    directrice.open(path, settled)
    report = downloaded(directrice.page, "Rapport Excel")
    levels = csv_text(downloaded(directrice.page, "Niveaux (CSV)"))
    results = csv_text(downloaded(directrice.page, "Résultats open data (CSV)"))
    for text in (workbook_text(report), levels, results):
        assert codes_in(text) == {OWN}
        assert others_named(programme, text, {OWN}) == []
    if path == "/comparaison":  # the peers' anonymised aggregates come with the director's own structure
        sheets = openpyxl.load_workbook(io.BytesIO(report), read_only=True).sheetnames
        assert "Pairs (anonymisés)" in sheets


@pytest.mark.parametrize("code", ["CAF-0002", "CPAM-0001", "CAF-9999"])
def test_director_opening_another_structure_by_address_is_answered_as_an_unknown_one(directrice, programme, code):
    directrice.open(f"/?structure={code}", "Structure inconnue")
    assert alerts(directrice.page, "Structure inconnue") == [f"Structure inconnue : « {code} »."]
    # The page goes on with the director's own structure; nothing of the asked one was sent but its code.
    assert directrice.page.get_by_text(f"{OWN} – {programme.names[OWN]}").count() >= 1
    assert codes_in(directrice.sent()) <= {OWN, code}
    assert others_named(programme, directrice.sent(), {OWN}) == []


def test_director_sees_no_edit_form_on_the_referentiel(directrice):
    directrice.open("/referentiel", "Modifier les seuils")
    page = directrice.page
    assert page.get_by_text("Seuls les administrateurs du programme modifient le référentiel.").count() == 1
    assert page.get_by_role("button", name="Enregistrer une nouvelle version").count() == 0
    assert page.get_by_label("Titre de la nouvelle version").count() == 0


def test_director_history_holds_no_demo_import_then_its_own_import_only(directrice, programme, tmp_path):
    directrice.open("/donnees", "Historique des imports")
    assert directrice.page.get_by_text("Aucun import.").count() == 1
    assert "démonstration" not in directrice.sent()

    upload(directrice, values_file(tmp_path, "caf-0001-janvier.csv", [OWN], "2022-01"))
    directrice.page.get_by_text("1 valeur ajoutée").first.wait_for(timeout=SETTLE_MS)

    # A file that also holds another structure: refused whole, with the list; nothing stored.
    refusal = ("Import refusé : le fichier contient des valeurs pour 1 structure hors de votre périmètre ou "
               "inconnue (CAF-0002). Rien n'a été enregistré ; retirez ces lignes ou demandez l'import à un "
               "administrateur.")
    upload(directrice, values_file(tmp_path, "caf-0001-0002-fevrier.csv", [OWN, "CAF-0002"], "2022-02"), refusal)

    directrice.open("/donnees", "Historique des imports")
    sent = directrice.sent()
    assert "caf-0001-janvier.csv" in sent and "Claire Martin <claire.martin@caf-yvelines.fr>" in sent
    assert "caf-0001-0002-fevrier.csv" not in sent and "démonstration" not in sent
    assert codes_in(sent) == {OWN}


def test_director_is_offered_to_undo_its_own_imports_only_and_undoes_one(directrice, tmp_path):
    upload(directrice, values_file(tmp_path, "caf-0001-avril.csv", [OWN], "2022-04"))
    page = directrice.page
    page.get_by_text("1 valeur ajoutée").first.wait_for(timeout=SETTLE_MS)
    directrice.open("/import_fichiers", "Import à annuler")
    options = picker_options(page, "Import à annuler", within='[data-testid="stMain"]')
    assert options and all(re.match(r"n°\d+ – caf-0001-\w+\.csv \(", option) for option in options), options
    page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(has_text="Import à annuler") \
        .locator("input").click()
    page.get_by_role("option").filter(has_text="caf-0001-avril.csv").click()
    page.get_by_role("button", name="Annuler l'import").click()
    page.get_by_role("button", name="Confirmer l'annulation").click()
    page.get_by_text(re.compile(r"Import n°\d+ \(caf-0001-avril\.csv\) annulé : 1 valeur retirée")) \
        .wait_for(timeout=SETTLE_MS)
    assert "démonstration" not in directrice.sent()


def test_director_may_not_import_the_structures_register(directrice, tmp_path):
    register = tmp_path / "structures.csv"
    register.write_text("code_structure;nom_structure;reseau;departement\nCAF-0001;Nouveau nom;CAF;78\n",
                        encoding="utf-8")
    directrice.open("/import_fichiers", "Fichiers à importer")
    directrice.page.locator('input[type="file"]').set_input_files(str(register))
    directrice.page.get_by_text("Seul un administrateur peut importer le registre des structures.") \
        .wait_for(timeout=SETTLE_MS)
    assert directrice.page.get_by_role("button", name="Importer 1 fichier").is_disabled()
    directrice.open("/", "Niveau atteignable")
    assert directrice.page.get_by_text("Nouveau nom").count() == 0


# The head of the CAF network


def test_network_head_comparaison_names_every_caf_and_nothing_else(tete, programme):
    tete.open("/comparaison", "Exporter la sélection")
    assert navigation(tete.page) == NAVIGATION
    assert codes_in(tete.sent()) == CAF
    assert codes_in(shown_text(tete.page)) <= CAF
    assert others_named(programme, tete.sent(), CAF) == []
    assert codes_in(csv_text(downloaded(tete.page, "Niveaux (CSV)"))) == CAF


def test_network_head_imports_for_a_caf_structure(tete, tmp_path):
    upload(tete, values_file(tmp_path, "caf-0005-mars.csv", ["CAF-0005"], "2022-03"))
    tete.page.get_by_text("1 valeur ajoutée").first.wait_for(timeout=SETTLE_MS)
    tete.open("/donnees", "Historique des imports")
    # The director's import (CAF-0001, in the network) is there too; the demo's (every network) is not.
    assert "caf-0005-mars.csv" in tete.sent() and "démonstration" not in tete.sent()


# The administrator


def test_administrator_sees_everything_and_the_acces_page(administratrice, programme):
    administratrice.open("/comparaison", "Exporter la sélection")
    assert navigation(administratrice.page) == [*NAVIGATION, "Accès"]
    assert "60 structures · l'ensemble du programme" in shown_text(administratrice.page)
    # The ranking arrives lazily, a first batch of rows: already more than one network.
    assert {code.split("-")[0] for code in codes_in(administratrice.sent())} > {"CAF"}
    administratrice.open("/", "Niveau atteignable")
    # The picker's 60 options are sent whole (the list draws only those in view).
    assert codes_in(administratrice.sent()) == set(programme.names)
    administratrice.open("/donnees", "Historique des imports")
    sent = administratrice.sent()
    assert "démonstration – valeurs" in sent
    # Every import is listed, none of the refused file.
    assert "caf-0001-0002-fevrier.csv" not in sent
    administratrice.open("/referentiel", "Modifier les seuils")
    assert administratrice.page.get_by_role("button", name="Enregistrer une nouvelle version").count() == 1
    assert administratrice.page.get_by_label("Titre de la nouvelle version").count() == 1


# Before sign-in, and a signed-in person without a grant


def test_before_sign_in_the_app_offers_the_button_and_sends_no_data(browser, app, programme):
    seen = visitor(browser, app)
    try:
        for path in ("/", "/comparaison"):
            seen.open(path, "Connectez-vous avec votre compte d'agent public")
            assert seen.page.get_by_role("button", name="Se connecter").count() == 1
            assert navigation(seen.page) == []
            assert codes_in(seen.sent()) == set() and others_named(programme, seen.sent(), set()) == []
            assert "Page not found" not in shown_text(seen.page)
    finally:
        seen.page.context.close()


def test_a_person_without_a_grant_sees_only_who_they_are_and_no_data(browser, app, programme):
    with signed_in(browser, app, SANS_DROIT) as seen:
        for path in ("/", "/comparaison"):
            seen.open(path, "Pas encore d'accès")
            assert "Vous êtes connecté en tant que Jean Sans <jean.sans@exemple.fr>." in shown_text(seen.page)
            assert navigation(seen.page) == []
            assert codes_in(seen.sent()) == set() and codes_in(seen.page.content()) == set()
            assert others_named(programme, seen.sent(), set()) == []
            assert seen.page.get_by_text("Niveau atteignable").count() == 0
            assert "Page not found" not in shown_text(seen.page)


# Mode local


def test_mode_local_shows_its_banner_on_every_page(browser, programme):
    with served(programme.local_copy) as url:
        seen = visitor(browser, url)
        try:
            for path, title in (("/", "Niveau atteignable"), ("/donnees", "Historique des imports")):
                seen.open(path, title)
                assert alerts(seen.page, "Mode local") == [LOCAL_BANNER]
        finally:
            seen.page.context.close()
