"""The pages' one door onto the database: a cached connection, a cursor per query, cached reads keyed by
the data's version so that an import or an undo shows at once."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from datetime import date

import pandas as pd
import streamlit as st

from indicators import (actions, compliance, db, history, importer, peers, projection, reports, rights, settings,
                        trajectory, views)
from indicators.periods import ROLLING

CACHE_ENTRIES = 32
# Cached reads that take an access are keyed by its scope, not by the person (Streamlit's documented hash_funcs).
BY_SCOPE = {rights.Access: lambda access: access.scope_key}
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def protect_server(sign_in: bool) -> None:
    """Hold the settings that protect users however the server was started: Streamlit reads the
    .streamlit/config.toml beside app.py, but a flag, an environment variable or another file can override it.
    Without sign-in (mode local) the server must listen on the loopback address only."""
    st.set_option("client.showErrorDetails", "none")
    st.set_option("client.toolbarMode", "minimal")  # no app menu: its words are English (README)
    try:
        settings.check_all()  # once per run, here, rather than on every read
    except settings.SettingError as wrong:
        st.error(str(wrong), icon=":material/error:")
        st.stop()
    unsafe = []
    address = st.get_option("server.address")
    if not sign_in and address not in LOOPBACK:
        where = f"l'adresse {address}" if address else "toutes les interfaces réseau"
        unsafe.append(f"il serait joignable depuis le réseau ({where}) sans authentification : configurez la "
                      "connexion (section [auth] de .streamlit/secrets.toml)")
    if not st.get_option("server.enableXsrfProtection"):
        unsafe.append("la protection contre les requêtes intersites (XSRF) est désactivée")
    if st.get_option("server.maxUploadSize") > settings.get("max_file_bytes"):
        unsafe.append("la taille d'envoi permise dépasse la limite des imports (INDICATEURS_MAX_FILE_MB)")
    if unsafe:
        st.error("Réglages du serveur non sûrs : " + " ; ".join(unsafe) + ". Le tableau de bord ne s'affiche "
                 "pas tant que ces réglages diffèrent de ceux de .streamlit/config.toml ; pour l'ouvrir au réseau, "
                 "voyez la section « Ouvrir le tableau de bord au réseau » du README.", icon=":material/gpp_bad:")
        st.stop()


def connection():
    """The process's DuckDB connection to the database file; sessions run in threads, so each read takes its own
    cursor. Within a page's run it is the one ``held`` holds. A base another program keeps busy, a damaged file or
    a wrong setting stops the page with a French message, never Streamlit's English error page."""
    try:
        return db.connect()
    except db.DatabaseBusy:
        _wait_for_database()
    except (db.DatabaseUnusable, settings.SettingError) as error:
        st.error(str(error), icon=":material/error:")
        st.stop()


@contextmanager
def held():
    """The base held by this process for a whole page run (the frame's): a command-line import asks for it and
    gets it between two runs, and the next run reads what it stored (data_version keys every cached read). When
    another program is at work on the base, the page says so while it waits."""
    with ExitStack() as stack:
        try:
            try:
                stack.enter_context(db.lease(timeout_s=QUICK_S))
            except db.DatabaseBusy:
                notice = st.empty()
                notice.info("Un import est en cours dans la base (ligne de commande ou autre programme) : la page "
                            "attend qu'il se termine, puis montre les données à jour.",
                            icon=":material/hourglass_top:")
                stack.enter_context(db.lease())
                notice.empty()
        except db.DatabaseBusy:
            _wait_for_database()
        except (db.DatabaseUnusable, settings.SettingError) as error:
            st.error(str(error), icon=":material/error:")
            st.stop()
        yield


QUICK_S = 0.3  # a wait shorter than this is not worth a message


def workbook(assessment: compliance.Assessment, who: rights.Access, version: tuple, peer_view=None) -> bytes:
    """The Excel report of a selection with its actions, made when its button is clicked. The same report (same
    data version, window, scope, structures, peers) is built once and served to everyone who asks for it: the
    programme's report takes seconds at 15,000 structures."""
    key = (version, assessment.window, assessment.version, assessment.today, who.scope_key,
           tuple(assessment.structures["code"]), None if peer_view is None else peer_view.group)
    return _workbook(key, assessment, who, peer_view)


@st.cache_resource(max_entries=8, show_spinner=False)
def _workbook(key: tuple, _assessment: compliance.Assessment, _who: rights.Access, _peer_view) -> bytes:
    # Outside the page's run (a download): it holds the base itself for the actions.
    with db.lease() as con:
        table = actions.comparison_table(con, _who, _assessment.structures["code"].tolist())
    return reports.workbook_bytes(_assessment, _peer_view, table)


def opendata_csv(assessment: compliance.Assessment) -> bytes:
    """The open-data CSV of a selection, made when its button is clicked: outside the page's run, so it holds the
    base itself."""
    with db.lease() as con:
        return reports.csv_bytes(reports.opendata_table(con, assessment))


RETRY_SECONDS = 5


def _wait_for_database() -> None:
    """Say in French that another program keeps the base busy, and try again on its own until it is free."""
    st.warning("La base de données est occupée par un autre programme (par exemple un long import lancé en ligne "
               f"de commande). Nouvel essai automatique toutes les {RETRY_SECONDS} secondes ; vos filtres sont "
               "conservés.", icon=":material/hourglass_top:")
    st.button("Réessayer maintenant", key="database_retry")

    @st.fragment(run_every=RETRY_SECONDS)
    def retry() -> None:
        try:
            with db.lease():
                pass
        except db.DatabaseBusy:
            return
        st.rerun(scope="app")

    retry()
    st.stop()


def read(sql_name: str, params: dict | None = None) -> pd.DataFrame:
    return db.query_df(connection(), sql_name, params)


def data_version() -> tuple:
    """Changes with every import, undo and référentiel edit: the key of every cached read."""
    # The file is part of the key: two databases can have the same number of imports.
    return (*db.query(connection(), "data_version")[0], str(settings.db_path()))


def is_empty() -> bool:
    return data_version()[0] == 0


@st.cache_resource(max_entries=4, show_spinner=False)
def _all_structures(version: tuple) -> pd.DataFrame:
    return read("structures_list")


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_SCOPE)
def structures(version: tuple, access: rights.Access) -> pd.DataFrame:
    """The structures the person sees named (the pickers, the search)."""
    return rights.visible(_all_structures(version), access)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def periods(version: tuple) -> pd.DataFrame:
    """Years, quarters and months that hold data, newest first (the window choices)."""
    return read("periods_available")


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def latest_data(version: tuple) -> date | None:
    """The end of the latest period of structures' data (« Données au … », complete and running periods)."""
    return compliance.latest_data(connection())


def imports(access: rights.Access) -> pd.DataFrame:
    return pd.DataFrame(importer.history(connection(), access))


# Assessments and views are cached as resources, not data: read-only objects shared by the sessions,
# so that a rerun does not unpickle 120 000 rows. The pages never modify them. Every cache that holds
# something of a person's scope is keyed by their access (hashed by value).
@st.cache_resource(max_entries=8, show_spinner="Calcul des niveaux…")
def _programme(window_text: str, version: tuple, today: date) -> compliance.Assessment:
    """The whole programme's assessment, computed once and shared: never handed to a page as it is, only
    cut to a person's scope (rights.restrict) or to anonymised aggregates (peers)."""
    con = connection()
    return compliance.assess(con, compliance.resolve_window(con, window_text, today), rights.WHOLE_PROGRAMME,
                             today=today)


@st.cache_resource(max_entries=32, show_spinner="Calcul des niveaux…", hash_funcs=BY_SCOPE)
def assessment(window_text: str, version: tuple, today: date, access: rights.Access) -> compliance.Assessment:
    """The assessment of the structures the person sees named."""
    return rights.restrict(_programme(window_text, version, today), access)


@st.cache_resource(max_entries=64, show_spinner="Comparaison anonyme avec les pairs…", hash_funcs=BY_SCOPE)
def peer_view(window_text: str, version: tuple, today: date, access: rights.Access, group: str) -> peers.PeerView:
    """A director's structures among their anonymised peers (the whole programme never reaches the page)."""
    return rights.peer_view(_programme(window_text, version, today), access, group)


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_SCOPE)
def rest_of_programme_levels(window_text: str, version: tuple, today: date, access: rights.Access) -> pd.Series | None:
    """A network head's view of the rest of the programme: level counts, nothing named."""
    return rights.rest_of_programme_levels(_programme(window_text, version, today), access)


@st.cache_resource(max_entries=64, show_spinner="Calcul des niveaux…", hash_funcs=BY_SCOPE)
def structure_assessment(window_text: str, code: str, version: tuple, today: date,
                         access: rights.Access) -> compliance.Assessment:
    """One structure over its own window (compliance.structure_window), computed alone: 40 ms at 15,000
    structures, where the programme's assessment takes 0.5 s that the first visitor after a start would wait for
    (the same rules: tests/test_windows.py checks both give the same levels)."""
    con = connection()
    window = compliance.structure_window(con, access, window_text, code, today)
    return compliance.assess(con, window, access, structure=code, today=today)


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_SCOPE)
def previous_assessment(window_text: str, code: str, version: tuple, today: date,
                        access: rights.Access) -> compliance.Assessment:
    """One structure over the window of the same length just before its own, for the deltas of the KPI cards."""
    con = connection()
    window = compliance.structure_window(con, access, window_text, code, today).previous()
    return compliance.assess(con, window, access, structure=code, today=today)


@st.cache_resource(max_entries=16, show_spinner="Préparation de la comparaison…", hash_funcs=BY_SCOPE)
def comparison(window_text: str, version: tuple, today: date, access: rights.Access, network: str | None,
               labelled: str, typologies: tuple, regions: tuple, departements: tuple) -> views.Comparison:
    return views.comparison(assessment(window_text, version, today, access), today, network, labelled, typologies,
                            regions, departements)


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_SCOPE)
def indicator_views(window_text: str, code: str, version: tuple, today: date,
                    access: rights.Access) -> list[views.IndicatorView]:
    """One structure's charts (with its actions' starts), sentences and tables, built once per window."""
    return views.indicator_views(structure_assessment(window_text, code, version, today, access), code,
                                 structure_series(code, version, access), structure_actions(code, version, access))


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_SCOPE)
def structure_actions(code: str, version: tuple, access: rights.Access) -> pd.DataFrame:
    """The improvement actions of one structure the person sees (actions.listing), newest start first."""
    return actions.listing(connection(), access, structure=code)


@st.cache_resource(max_entries=256, show_spinner=False, hash_funcs=BY_SCOPE)
def action_comparisons(action_id: int, version: tuple, access: rights.Access) -> list[actions.Comparison]:
    """One action's before/after on each indicator it aims at."""
    return actions.before_after(connection(), access, action_id)


@st.cache_resource(max_entries=16, show_spinner="Comparaison avant/après des actions…", hash_funcs=BY_SCOPE)
def actions_table(codes: tuple, version: tuple, access: rights.Access) -> pd.DataFrame:
    """The actions of a selection with their before/after, one row per action × indicator (Comparaison)."""
    return actions.comparison_table(connection(), access, codes)


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_SCOPE)
def level_history(code: str, version: tuple, access: rights.Access) -> pd.DataFrame:
    """One structure's level over the rolling 12 months ending each month, from its first 12 months of data on (a
    window with months before its first data would judge it on part of a year), 36 months at most."""
    return trajectory.structure_levels(connection(), access, code)


@st.cache_resource(max_entries=4, show_spinner="Niveaux mois par mois de toutes vos structures…",
                   hash_funcs=BY_SCOPE)
def scope_history(version: tuple, access: rights.Access) -> pd.DataFrame:
    """Every structure the person sees, its level over the rolling 12 months ending each of the 36 last months:
    computed once per data version and scope (all structures in one pass; seconds at 15,000 structures)."""
    return history.monthly_levels(connection(), access)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def rules(version: tuple) -> pd.DataFrame:
    """The indicators of the référentiel in force, with their labels and thresholds."""
    return compliance.load_rules(connection())[1]


@st.cache_resource(max_entries=64, show_spinner="Tendances des indicateurs bloquants…", hash_funcs=BY_SCOPE)
def projections(code: str, version: tuple, today: date, access: rights.Access) -> list[projection.Projection]:
    """Each blocking indicator's trend over the structure's 12 last months, and the month it would reach the next
    threshold at that pace (or why no date can be said): read against its rolling assessment."""
    assessment = structure_assessment(ROLLING, code, version, today, access)
    return projection.structure_projections(connection(), access, assessment, code)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False, hash_funcs=BY_SCOPE)
def structure_series(code: str, version: tuple, access: rights.Access) -> pd.DataFrame:
    """Every value of one structure, for its time series (a few hundred rows at most)."""
    return views.structure_series(connection(), access, code)


def load_demo(access: rights.Access, n_structures: int = 300) -> list[importer.ImportReport]:
    from indicators.demo import load_demo as load

    return load(connection(), access, n_structures)
