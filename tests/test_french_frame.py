"""The frame around the pages speaks French in Debian's Chromium: the document declares lang="fr", and no English
word of Streamlit's (uploader, lists, tables, menu, accessibility labels, chart toolbar) is left where a person
reads or a screen reader speaks, on Mon service, Comparaison and Import of a small demonstration base."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers import CANONICAL_HEADER, LYON_ROWS, PROJECT, chromium, new_page, served
from ui import french

pytestmark = pytest.mark.browser

# The brief's list: words of Streamlit's English a French user must not meet. Case counts: Material icons are
# drawn from ligature names (« download », « search ») that no one reads, and are left out below anyway.
ENGLISH = ("Upload", "Browse files", "Drag and drop", "per file", "Select all", "Download", "Show/hide", "Search",
           "Fullscreen", "Print", "Record", "Settings", "None", "nan")
ENGLISH_WORD = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in ENGLISH) + r")\b")
# A size as Streamlit writes it (« 15.9KB », « 200MB »), never as French writes it (« 15,9 ko »).
ENGLISH_SIZE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:B|KB|MB|GB)\b")
# English left on purpose, each said in the README (« Le cadre en français »): none at present.
KNOWN_ENGLISH: set[str] = set()

# What a person reads and a screen reader speaks: the text of visible elements outside aria-hidden parts and
# Material icons, and the accessibility attributes and tooltips of visible elements.
READ = """() => {
    const heard = element => !element.closest('[aria-hidden="true"], [data-testid="stIconMaterial"]');
    const texts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode, parent = node.parentElement;
        if (node.nodeValue.trim() && parent && heard(parent) && parent.checkVisibility()
            && !['SCRIPT', 'STYLE'].includes(parent.tagName)) texts.push(node.nodeValue.trim());
    }
    const attributes = [];
    for (const element of document.querySelectorAll('[aria-label], [title], [placeholder], [alt], [data-title]')) {
        if (!element.checkVisibility()) continue;
        for (const name of ['aria-label', 'title', 'placeholder', 'alt', 'data-title']) {
            const value = element.getAttribute(name);
            if (value && value.trim()) attributes.push(value.trim());
        }
    }
    return {lang: document.documentElement.lang, texts, attributes};
}"""
SETTLE_MS = 60_000


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    """The dashboard served on a small demonstration base loaded by the command line."""
    base = tmp_path_factory.mktemp("francais") / "demo.duckdb"
    subprocess.run([sys.executable, "-m", "indicators", "demo", "--structures", "20", "--db", str(base)],
                   cwd=PROJECT, check=True, capture_output=True)
    with served(base) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    page = new_page(browser)
    yield page
    page.context.close()


def is_english(value: str) -> bool:
    """One of the brief's words, a size as Streamlit writes it, or any whole word of Streamlit's the script
    translates (« Link to heading », « Open », « Choose an option »…)."""
    return bool(ENGLISH_WORD.search(value) or ENGLISH_SIZE.search(value)) or value in french.STREAMLIT_WORDS


def english_read(page) -> list[str]:
    """Every text or label the page shows or says that is English, but for the known exceptions."""
    read = page.evaluate(READ)
    assert read["lang"] == "fr"
    return sorted({value for value in read["texts"] + read["attributes"]
                   if is_english(value) and value not in KNOWN_ENGLISH})


def open_page(page, url: str, landmark: str) -> None:
    page.goto(url)
    page.get_by_text(landmark).first.wait_for(timeout=SETTLE_MS)
    page.wait_for_function("() => document.documentElement.lang === 'fr'", timeout=SETTLE_MS)


def show_table_toolbar(page) -> None:
    """A table's toolbar shows on hover, its search button's tooltip on the button's hover. The toolbar fades in:
    on a loaded machine the pointer may reach the button before it holds still, so it is tried again."""
    table = page.locator('[data-testid="stDataFrame"]:visible').first
    search = table.get_by_role("button", name="Rechercher")
    for attempt in range(3):
        table.hover()
        try:
            search.hover(timeout=10_000)
            page.get_by_text("Rechercher", exact=True).last.wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def test_the_document_is_french_before_and_after_a_rerun(address, page):
    open_page(page, address, "Niveau atteignable")
    assert page.evaluate("() => document.documentElement.lang") == "fr"
    # The script's element leaves no gap: the page's first element starts where Streamlit puts the first one.
    assert page.locator("script#cadre-en-francais").count() == 1
    assert not page.locator("script#cadre-en-francais").locator("xpath=../..").is_visible()
    page.get_by_role("link", name="Comparaison").click()
    page.get_by_text("Répartition des niveaux").first.wait_for(timeout=SETTLE_MS)
    assert page.evaluate("() => document.documentElement.lang") == "fr"


def test_mon_service_reads_in_french(address, page):
    open_page(page, address, "Niveau atteignable")
    page.locator(".js-plotly-plot:visible").first.wait_for(timeout=SETTLE_MS)
    help_button = page.get_by_role("button", name=re.compile(r"^Aide\s: ")).first
    help_button.wait_for(timeout=SETTLE_MS)
    assert english_read(page) == []


def test_there_is_no_app_menu_and_its_english(address, page):
    """« Print », « Record a screencast », « Settings », « About »: the menu is not needed (toolbarMode minimal)."""
    open_page(page, address, "Niveau atteignable")
    page.get_by_role("link", name="Comparaison").wait_for(timeout=SETTLE_MS)
    assert page.locator('[data-testid="stMainMenuButton"], [data-testid="stMainMenu"]').count() == 0


def test_the_chart_toolbar_is_french(address, page):
    open_page(page, address, "Niveau atteignable")
    chart = page.locator(".js-plotly-plot:visible").first
    chart.wait_for(timeout=SETTLE_MS)
    chart.hover()
    titles = chart.locator(".modebar-btn").evaluate_all("buttons => buttons.map(b => b.getAttribute('data-title'))")
    assert french.PLOTLY_CONFIG["locales"]["fr"]["dictionary"]["Download plot as a PNG"] in titles
    assert "Plein écran" in titles
    assert english_read(page) == []


def test_comparaison_lists_and_tables_read_in_french(address, page):
    open_page(page, f"{address}/comparaison", "Répartition des niveaux")
    assert english_read(page) == []
    show_table_toolbar(page)
    assert english_read(page) == []
    page.get_by_role("combobox", name="Typologie").click()
    page.get_by_text("Tout sélectionner").wait_for(timeout=10_000)
    assert english_read(page) == []


def test_import_uploader_reads_in_french_with_a_file(address, page, tmp_path):
    open_page(page, f"{address}/import_fichiers", "Fichiers à importer")
    uploader = page.locator('[data-testid="stFileUploader"]')
    assert uploader.get_by_role("button", name="Parcourir").is_visible()
    assert "200\u00a0Mo par fichier" in uploader.inner_text()
    assert english_read(page) == []
    upload = tmp_path / "indicateurs-lyon.csv"
    upload.write_bytes((CANONICAL_HEADER + "\n" + "\n".join(LYON_ROWS) + "\n").encode("utf-8"))
    page.locator('input[type="file"]').set_input_files(str(upload))
    page.get_by_text("indicateurs-lyon.csv").first.wait_for(timeout=SETTLE_MS)
    page.get_by_text("format long canonique").first.wait_for(timeout=SETTLE_MS)
    # Streamlit writes « 0.9KB » beside the file and in its label; French says « 0,9 ko ».
    chip = uploader.locator('[data-testid="stFileChip"]')
    assert re.search(r"\b\d+,\d\u00a0ko\b", chip.inner_text())
    assert re.fullmatch(r"indicateurs-lyon\.csv, \d+,\d\u00a0ko", chip.get_attribute("aria-label"))
    assert english_read(page) == []


def test_every_english_word_the_script_knows_is_translated_once():
    """The script's dictionary: no word left as it was, no French that would itself be taken for English."""
    for english, words in french.STREAMLIT_WORDS.items():
        assert words and words != english, english
        assert words not in french.STREAMLIT_WORDS, words
    assert not ENGLISH_WORD.search(" ".join(french.STREAMLIT_WORDS.values()))


def test_the_frame_script_is_run_by_streamlit_as_html_with_javascript():
    """ui.frame draws the script once per run, before the page (AppTest records the element)."""
    from helpers import open_app_page

    at = open_app_page("pages/referentiel.py")
    bodies = [element.proto.body for element in at.get("html")]
    assert any("cadre-en-francais" in body for body in bodies)
