"""Shared pieces of the pages: the sidebar filters, the first-run screen, French formats and words."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from indicators import rights, settings
from indicators.periods import ROLLING, latest_complete
from indicators.text import format_date, format_number_fr, markdown_literal
from ui import access, frame

WINDOW_KINDS = {ROLLING: "12 derniers mois", "annee": "Année", "trimestre": "Trimestre", "mois": "Mois"}
ALL = "Tous les réseaux"
METHOD_PAGE = "pages/methode.py"
METHOD_TITLE = "Comment est calculé mon niveau ?"
# The sidebar holds the menu and the filters; on a phone it folds behind an icon alone (« Expand sidebar » for
# screen readers): a visible French word beside the icon says what it opens. Streamlit offers no setting for it.
SIDEBAR_TOGGLE_CSS = """<style>
[data-testid="stExpandSidebarButton"]::after {
  content: "Menu et filtres"; margin-left: 0.25rem; font-size: 0.95rem; font-weight: 600; white-space: nowrap;
}
</style>"""


def today() -> date:
    return date.today()


def first_run_screen() -> None:
    """On an empty database: say so and offer the two ways out; stops the page."""
    st.info("La base est vide : aucune structure, aucune valeur. Chargez les données de démonstration pour "
            "découvrir le tableau de bord, ou importez vos fichiers.")
    who = frame.access()
    left, right = st.columns(2)
    if who.admin and left.button("Charger les données de démonstration", type="primary", width="stretch"):
        with st.spinner("Génération et import des données de démonstration (300 structures)…"):
            reports = access.load_demo(frame.access())
        for report in reports:
            st.toast(markdown_literal(report.summary()))
        st.rerun()
    if who.may_write and right.button("Importer un fichier", width="stretch"):
        st.switch_page("pages/import_fichiers.py")
    st.stop()


# The filters are shared by the pages. A widget is a page's own (Streamlit names it by its page too): its value is
# written back under its key before the next page draws its own (Streamlit's documented way), and it is kept for
# the whole session (persist_state) so that it outlives the pages that do not draw it (Import, Référentiel…): with
# the writing back alone, one visit to such a page lost the window, the network and the structure.
SHARED = "session"
FILTER_KEYS = ("window_kind", *(f"window_{kind}" for kind in WINDOW_KINDS), "network", "structure",
               "structure_query")


def sidebar_filters(with_structure: bool = False) -> dict:
    """Window, network and (optionally) structure, shared by the pages through the session. The period choices
    open on the latest period the data covers whole (a running one can be chosen, and is said to be running)."""
    state = st.session_state
    for key in FILTER_KEYS:
        if key in state:
            state[key] = state[key]
    version = access.data_version()
    periods = access.periods(version)
    latest = access.latest_data(version)
    structures = access.structures(version, frame.access())
    if with_structure:
        _structure_from_link(structures)
    st.html(SIDEBAR_TOGGLE_CSS)
    with st.sidebar:
        st.header("Filtres")
        default = settings.default_window()  # the window a page opens on, from the settings
        kinds = periods.loc[periods["window"] == default, "kind"].tolist()
        state.setdefault("window_kind", kinds[0] if kinds else ROLLING)
        if kinds:
            state.setdefault(f"window_{kinds[0]}", default)
        kind = st.radio("Fenêtre", list(WINDOW_KINDS), format_func=WINDOW_KINDS.get, key="window_kind",
                        horizontal=True, persist_state=SHARED)
        window = ROLLING
        if kind != ROLLING:
            choices = periods.loc[periods["kind"] == kind, "window"].tolist()
            if choices:
                state.setdefault(f"window_{kind}", latest_complete(choices, latest))
                window = st.selectbox(WINDOW_KINDS[kind], choices, key=f"window_{kind}", persist_state=SHARED)
        networks = [ALL, *sorted(structures["network"].dropna().unique())]
        network = st.selectbox("Réseau", networks, key="network", persist_state=SHARED)
        selected = structures if network == ALL else structures[structures["network"] == network]
        code = None
        if with_structure and not selected.empty:
            code = _structure_picker(selected)
        st.caption(f"{data_date_words(latest)} · référentiel {version[2]}")
    return {"window": window or ROLLING, "network": None if network == ALL else network, "structure": code,
            "version": version, "latest": latest}


def data_date_words(latest: date | None) -> str:
    """« Données au 31/10/2026 »: the date of the latest data received, not today's."""
    return f"Données au {format_date(latest)}" if latest else "Aucune donnée reçue"


def _structure_from_link(structures: pd.DataFrame) -> None:
    """A link « ?structure=CODE » opens that structure, once. A code outside the person's scope gets the very
    answer of a code that does not exist: the list comes from indicators/, already cut to the scope."""
    code = st.query_params.get("structure")
    if not code or st.session_state.get("structure_link") == code:
        return
    st.session_state["structure_link"] = code
    if code in set(structures["code"]):
        st.session_state["structure"] = code
        st.session_state["network"] = ALL
    else:
        st.error(markdown_literal(rights.UNKNOWN_STRUCTURE.format(code=code)), icon=":material/error:")


def open_structure(code: str) -> None:
    """Button callback (it runs before the widgets exist, so it may set their values): select the
    structure in the shared filters and ask the page to go to « Mon service »."""
    st.session_state["structure"] = code
    st.session_state["network"] = ALL
    st.session_state["open_mon_service"] = True


MAX_CHOICES = 200


def _structure_picker(selected: pd.DataFrame) -> str:
    """A selectbox of at most MAX_CHOICES structures: 15 000 options would weigh a megabyte on every
    page; above that, a search box narrows them first."""
    current = st.session_state.get("structure")
    if len(selected) > MAX_CHOICES:
        query = st.text_input("Rechercher une structure (code ou nom)", key="structure_query", persist_state=SHARED)
        found = selected
        if query:
            found = selected[selected["code"].str.contains(query, case=False, regex=False)
                             | selected["name"].fillna("").str.contains(query, case=False, regex=False)]
        shown = found.head(MAX_CHOICES)
        if current in set(selected["code"]) and current not in set(shown["code"]):
            shown = pd.concat([selected[selected["code"] == current], shown])
        if len(found) > MAX_CHOICES:
            st.caption(f"{format_number_fr(len(found), 0)} structures : les {MAX_CHOICES} premières sont proposées, "
                       "précisez la recherche.")
    else:
        shown = selected
    codes = shown["code"].tolist() or selected["code"].head(1).tolist()
    names = dict(zip(shown["code"], shown["name"]))
    if current not in codes:
        st.session_state["structure"] = codes[0]
    return st.selectbox("Structure", codes, key="structure", format_func=lambda c: f"{c} – {names.get(c) or ''}",
                        persist_state=SHARED)


def download_name(stem: str, window: str, extension: str) -> str:
    """A download's file name: only ASCII letters, digits, « - » and « _ » survive (codes come from files)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in f"{stem}-{window}")
    return f"{safe}.{extension}"


def method_link() -> None:
    """« Comment est calculé mon niveau ? », beside every level a page shows."""
    st.page_link(METHOD_PAGE, label=METHOD_TITLE, icon=":material/help:")
