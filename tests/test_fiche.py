"""The fiche de résultats and the affiche: written by the command line for a structure or a whole network, one A4
page each, their text extractable in French (pdftotext), turned into pictures (pdftoppm); the rights of the person
who asks; the page's download buttons."""

from __future__ import annotations

import re
import subprocess
import zlib
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from indicators import compliance, db, fiche, method, rights
from indicators.text import LEVEL_WORDS

TODAY = date(2026, 11, 20)
A4 = (595.28, 841.89)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """48 demo structures (7 networks, 5 of them CAF) with data up to October 2026, shared by the tests that only
    read."""
    from indicators.demo import load_demo

    path = tmp_path_factory.mktemp("fiche") / "demo.duckdb"
    load_demo(db.connect(path), rights.COMMAND_LINE, 48, 42, today=TODAY)
    db.close_all()
    return path


def run(database: Path, *args) -> subprocess.CompletedProcess:
    """The command line in its own process, as a person runs it."""
    return subprocess.run(["python3", "-m", "indicators", *map(str, args), "--db", str(database)],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=300)


def pdf_pages(path: Path) -> list[Path]:
    """The PDF's pages as PNG pictures (pdftoppm), to look at and to count."""
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(path.with_suffix(""))], check=True)
    return sorted(path.parent.glob(f"{path.stem}-*.png"))


def page_size(path: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()
    return float(width), float(height)


def pdf_text(path: Path) -> str:
    """The PDF's words in reading order, spaces collapsed (pdftotext writes a narrow no-break space as a space)."""
    return " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())


def unicode_maps(path: Path) -> bytes:
    """The fonts' character maps (CMaps): which characters a reader gets back when copying the text."""
    maps = b""
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", path.read_bytes(), re.DOTALL):
        try:
            content = zlib.decompress(stream)
        except zlib.error:  # a stream that is not deflated (the fonts' own, in another filter)
            continue
        maps += content if b"begincmap" in content else b""
    return maps


def words_with_boxes(path: Path) -> list[tuple[float, float, float, float, str]]:
    """(xMin, yMin, xMax, yMax, word), y from the top of the page."""
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


def one_a4_page(path: Path) -> None:
    assert path.read_bytes().startswith(b"%PDF-")
    assert len(pdf_pages(path)) == 1
    width, height = page_size(path)
    assert abs(width - A4[0]) <= 1 and abs(height - A4[1]) <= 1


def structure(database: Path, code: str) -> dict:
    con = db.connect(database)
    try:
        assessment = compliance.assess(con, compliance.structure_window(con, rights.COMMAND_LINE, None, code),
                                       rights.COMMAND_LINE, structure=code)
        return {"structure": assessment.structures.iloc[0], "indicators": assessment.indicators}
    finally:
        db.close(database)


def test_the_command_writes_a_one_page_a4_fiche_in_french(demo, tmp_path):
    output = tmp_path / "fiche.pdf"
    done = run(demo, "fiche", "--structure", "CAF-0001", "--output", output)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Fiche de résultats de CAF-0001 écrite dans {output}.\n"
    one_a4_page(output)
    said = pdf_text(output)
    about = structure(demo, "CAF-0001")
    assert about["structure"]["name"] in said  # « CAF des Ardennes – accueil de Charleville-Mézières »: é, è, –
    assert f"Niveau atteignable sur la période {LEVEL_WORDS[about['structure']['level']]}" in said
    assert "Taux de décroché" in said and "decroche" not in said  # labels, never codes
    assert "12 derniers mois, de novembre 2025 à octobre 2026" in said and "version 2023" in said
    assert re.search(r"\d,\d %", said)
    # French numbers: the narrow no-break space before « % » is in the PDF as itself (U+202F), copied as such.
    assert b"<202F>" in unicode_maps(output)
    for number in range(1, 9):  # the 8 engagements, by their words
        assert f"{number}. " in said
    assert "Vous pouvez facilement entrer en contact avec vos services publics" in said
    assert "Données au" in said and "31/10/2026" in said and "(reçu jusqu'au 31/10/2026)" in said
    for sentence in fiche.method_sentences():  # the method in two sentences, from docs/methode.md
        assert " ".join(sentence.split()) in said


def test_the_fiche_says_what_blocks_the_next_level_and_an_expired_label(demo, tmp_path):
    # CAF-0001: aucun niveau, blocked by a survey of 89 answers where 100 are needed; its argent label, awarded in
    # July 2023, expired 3 years later.
    output = tmp_path / "caf-0001.pdf"
    assert run(demo, "fiche", "--structure", "CAF-0001", "--output", output).returncode == 0
    said = pdf_text(output)
    assert "aucun niveau" in said and "Ce qui bloque le niveau bronze :" in said
    assert "Démarches en ligne notées ≥ 8/10 : échantillon insuffisant (89 réponses sur 100 requises)" in said
    label = structure(demo, "CAF-0001")["structure"]
    awarded, expired = label["label_awarded_on"], label["label_expires_on"]
    assert (label["label_level"], awarded.year, expired.year) == ("argent", 2023, 2026)
    assert f"Label argent attribué le {awarded:%d/%m/%Y}, expiré le {expired:%d/%m/%Y}" in said


def test_the_affiche_puts_each_figure_beside_the_engagement_it_keeps(demo, tmp_path):
    output = tmp_path / "affiche.pdf"
    done = run(demo, "fiche", "--structure", "CPAM-0005", "--output", output, "--affiche")
    assert done.returncode == 0 and done.stdout == f"Affiche de CPAM-0005 écrite dans {output}.\n", done.stderr
    one_a4_page(output)
    said = pdf_text(output)
    assert "Nos résultats de qualité de service" in said and "CPAM de la Haute-Loire" in said
    assert "Notre engagement n° 2" in said and "Satisfaction globale" in said
    assert "Taux de décroché Objectif : au moins 80 %" in said
    # The promise and its figure on the same band of the page: « Taux de décroché » beside engagement 2's words.
    boxes = words_with_boxes(output)
    promise = next(b for b in boxes if b[4] == "contact")
    figure = next(b for b in boxes if b[4] == "décroché")
    assert promise[2] < figure[0] and abs(promise[1] - figure[1]) < 60


def test_every_demo_fiche_and_affiche_keeps_to_its_page(demo, tmp_path):
    """No block runs into the footer nor past the right margin, whatever the names and the blocking lists."""
    con = db.connect(demo)
    try:
        common = compliance.assess(con, compliance.resolve_window(con, None, TODAY), rights.COMMAND_LINE, today=TODAY)
        for code in common.structures["code"]:
            assessment = fiche.structure_assessment(con, rights.COMMAND_LINE, code, None, TODAY, common)
            for render in (fiche.fiche_pdf, fiche.affiche_pdf):
                path = tmp_path / f"{code}-{render.__name__}.pdf"
                path.write_bytes(render(assessment, code, TODAY))
                boxes = words_with_boxes(path)
                footer = max(b[1] for b in boxes)
                assert max(b[3] for b in boxes if b[1] < footer - 1) < footer - 2, (code, render.__name__)
                assert max(b[2] for b in boxes) <= A4[0] - fiche.MARGIN + 1, (code, render.__name__)
    finally:
        db.close(demo)


def test_a_network_gets_one_file_per_structure_with_progress(demo, tmp_path):
    folder = tmp_path / "caf"
    done = run(demo, "fiche", "--reseau", "CAF", "--output", folder)
    assert done.returncode == 0, done.stderr
    codes = [f"CAF-000{n}" for n in range(1, 6)]
    assert done.stderr.splitlines() == [f"{n}/5 {code}" for n, code in enumerate(codes, start=1)]
    assert done.stdout == f"5 fiches de résultats écrites dans {folder} (réseau CAF).\n"
    assert sorted(p.name for p in folder.iterdir()) == [f"{code}.pdf" for code in codes]
    one_a4_page(folder / "CAF-0003.pdf")
    assert "CAF de l'Aube – accueil de Nogent-sur-Seine" in pdf_text(folder / "CAF-0003.pdf")
    done = run(demo, "fiche", "--reseau", "CAF", "--output", folder, "--affiche")
    assert done.returncode == 0 and "5 affiches écrites" in done.stdout
    assert (folder / "CAF-0001-affiche.pdf").exists()


@pytest.mark.parametrize("args, message", [
    (("--structure", "INCONNUE", "--output", "{tmp}/f.pdf"), "Structure inconnue : « INCONNUE »."),
    (("--reseau", "Inconnu", "--output", "{tmp}/d"), "Réseau inconnu : « Inconnu »."),
    (("--structure", "CAF-0001", "--output", "{tmp}/f.pdf", "--period", "2025-T9"), "Période non reconnue"),
    (("--output", "{tmp}/f.pdf",), "Indiquez la structure (--structure CODE) ou le réseau (--reseau RESEAU)"),
    (("--reseau", "CAF", "--output", "{tmp}/un-fichier.txt"), "est un fichier : indiquez un dossier."),
    (("--structure", "CAF-0001", "--output", "{tmp}/absent/f.pdf"), "n'existe pas"),
])
def test_bad_requests_are_french_usage_errors(demo, tmp_path, args, message):
    (tmp_path / "un-fichier.txt").write_text("x", encoding="utf-8")
    done = run(demo, "fiche", *(a.format(tmp=tmp_path) for a in args))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "f.pdf").exists() and not (tmp_path / "d").exists()


def test_a_director_gets_the_fiche_of_their_structure_only(demo):
    director = rights.Access(rights.Person("Claire Martin", "claire.martin@caf.fr"), frozenset({rights.DIRECTOR}),
                             structures=frozenset({"CAF-0002"}), write_structures=frozenset({"CAF-0002"}))
    con = db.connect(demo)
    try:
        assert fiche.document_pdf(con, director, "CAF-0002", today=TODAY).startswith(b"%PDF-")
        with pytest.raises(rights.AccessRefused, match="Structure inconnue : « CAF-0003 »"):
            fiche.document_pdf(con, director, "CAF-0003", today=TODAY, affiche=True)
        # Their scope's assessment does not hold the other structure either.
        theirs = compliance.assess(con, compliance.resolve_window(con, None, TODAY), director, today=TODAY)
        with pytest.raises(rights.AccessRefused, match="Structure inconnue : « CAF-0003 »"):
            fiche.fiche_pdf(theirs, "CAF-0003", TODAY)
        with pytest.raises(rights.AccessRefused, match="Réseau inconnu : « DGFiP »"):
            fiche.network_codes(theirs, "DGFiP")
    finally:
        db.close(demo)


def test_the_method_sentences_are_the_first_of_the_two_level_rules():
    first, second = fiche.method_sentences()
    lines = method.method_lines()
    assert first.startswith("Niveau d'un indicateur : le plus haut seuil atteint") and first.endswith("aucun.")
    assert second.startswith("Niveau d'une structure : le plus bas de ses indicateurs requis")
    assert any(line.startswith(first[:-1]) for line in lines) and any(line.startswith(second[:-1]) for line in lines)


def test_status_for_one_structure_names_indicators_by_their_labels(demo):
    done = run(demo, "status", "--structure", "CAF-0002")
    assert done.returncode == 0, done.stderr
    details = done.stdout.splitlines()[2:]
    assert details[0].strip().startswith("Temps d'attente au guichet")
    assert not [line for line in details if re.match(r"\s+[a-z_0-9]+\s", line) and "_" in line.split()[0]]


APP = """
from datetime import date
from indicators import compliance, db, rights
from ui import fiche
con = db.connect({database!r})
assessment = compliance.assess(con, compliance.resolve_window(con, None), rights.COMMAND_LINE, structure="CAF-0001")
fiche.print_stylesheet()
fiche.fiche_buttons(assessment, "CAF-0001", date(2026, 11, 20))
"""


def test_mon_service_offers_both_pdfs_and_a_print_stylesheet(demo):
    try:
        app = AppTest.from_string(APP.format(database=str(demo)), default_timeout=60).run()
    finally:
        db.close(demo)
    assert not app.exception
    buttons = app.get("download_button")
    assert [b.proto.label for b in buttons] == ["Fiche de résultats (PDF)", "Affiche (PDF)"]
    css = app.get("html")[0].proto.body
    assert "@media print" in css and '[data-testid="stSidebar"]' in css and "break-inside: avoid" in css


@pytest.mark.browser
def test_mon_service_printed_from_chromium_leaves_the_sidebar_and_the_buttons_out(demo, tmp_path):
    """What a person gets with « Imprimer » in the browser (Chromium's own print to PDF, print media): the page's
    content on A4 sheets, without the sidebar's menu and filters, nor the download buttons."""
    from helpers import chromium, served

    printed = tmp_path / "mon-service.pdf"
    with served(demo) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR").new_page()
        page.goto(url + "/")
        page.get_by_text("Niveau atteignable").wait_for(timeout=120_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.pdf(path=str(printed), format="A4", print_background=True)
    said = pdf_text(printed)
    assert "Mon service" in said and "Niveau atteignable" in said and "Engagements" in said
    assert "Filtres" not in said and "Calcul du niveau" not in said  # the sidebar stays on screen
    assert "Fiche de résultats (PDF)" not in said and "Rapport Excel" not in said  # buttons are not for paper
    assert page_size(printed) == pytest.approx((595.92, 842.88), abs=1.5)
    assert pdf_pages(printed)  # readable by poppler, page by page
