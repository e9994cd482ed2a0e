"""Many people at once without a browser each, run by hand: ``python3 -m bench.bench_protocol [--structures 15000]
[--sessions 1,5,20,50] [--batch-rows 100000] [--stagger 2] [--compare] [--profile]``.

bench_sessions drives one Debian Chromium per session; on this 2-core machine the browsers take the processor from
the server (N = 5: Chromium 87 s against the server's 37 s; N = 20: no page loads at all), so N = 20 and 50 cannot be
measured that way. Here each session is a client that speaks Streamlit 1.67's own protocol, as the browser does:
- the page load: the same HTTP requests as a new Chromium (``/``, every script, style sheet and font it fetched,
  ``/_stcore/health`` which sets the XSRF cookie, ``/_stcore/host-config``, the favicon), the list taken from one
  Chromium load of Mon service at the start of the run (the warm-up, as in bench_sessions), fetched 6 at a time
  like the browser;
- the websocket ``/_stcore/stream`` with the browser's Origin, cookie and subprotocols (``streamlit``, the XSRF
  token), permessage-deflate as Chromium offers it; binary ``BackMsg`` out, ``ForwardMsg`` in;
- a click is one ``rerun_script`` ``ClientState``: every widget of the page with its value (the ids, kinds and
  defaults read from the deltas of the last run; a selectbox or radio sends its option's text, a text input its
  text, a multiselect or a date its list of texts, as the 1.67 frontend does), the page's ``page_script_hash``, the
  context (fr-FR, UTC, the address), and the hashes the frontend's message cache holds (cacheable messages received
  or referred to within the server's ``max_cached_message_age`` runs, the frontend's own rule: the server then
  sends a ``ref_hash`` instead, answered from the client's copy). Opening another page sends its
  ``page_script_hash`` and no widget state, as the browser does;
- « Rapport Excel » is a deferred download: a ``backend_operation_request`` (``deferred_file``) whose answer gives
  a ``/media/…`` address, fetched to the last byte;
- « trier le classement » (a click on the first column's header of the page's first table): when the table holds all
  its rows the grid sorts alone and no message leaves (at 300 structures: no click for the server, skipped); when it
  was sent only its first page (a lazy table: the ranking at 15,000 structures), the grid asks the server for the
  first page sorted, a ``backend_operation_request`` (``dataframe_chunk``): the client asks the same, timed to the
  answer.
Recorded from Chromium's own frames (``--compare`` prints the browser's messages beside the client's).

A click is timed from sending its message to ``script_finished`` (the server's run done: « page settled » for the
server), plus the file for the download; « ouvrir Mon service » from the first HTTP request. A click fails on an
``exception`` element, an error alert (except Mon service's red level banner, a result), a run that does not end in
CLICK_TIMEOUT_S, or a failed download. The page's « import en cours » / « base occupée » notices are counted.

``--compare``: at each N, the same walk by real Chromium browsers (bench_sessions' walk, the websocket's frames
recorded) then by protocol clients, each against its own fresh server, without the batch import: the server's
processor time per walk, its peak memory, and per click the server's part (message sent → ``script_finished``, read
from the browser's own frames) beside the client's, with their ratio.

``--profile``: py-spy (when installed) samples the server during the walks (``bench/out/protocol_profil_*.txt``);
printed: where its threads spend their time, in each function itself and in the project's functions.

Results: the same table as bench_sessions (median and p95 over all clicks, per kind, the server tree's peak RSS,
errors, the batch), and JSON lines in ``bench/out/protocol.jsonl``."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
import uuid
from contextlib import ExitStack
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pyarrow.ipc
from google.protobuf.json_format import MessageToDict
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Dataframe_pb2 import SortState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import connect

from bench import bench_sessions as sessions
from bench.bench_app import demo_base
from bench.bench_clicks import timed
from tests.helpers import PROJECT, chromium, stop_server, wait_healthy

OUT = PROJECT / "bench" / "out"
CLICK_TIMEOUT_S = 120
PARALLEL_REQUESTS = 6  # Chromium's connections per host
# Chromium's headers on this machine (its user agent shortened: the server does not read it).
BROWSER_HEADERS = {"Accept-Encoding": "gzip, deflate, br, zstd", "Accept-Language": "fr-FR",
                   "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome"}
SEARCH_LABEL = "Rechercher une structure (code ou nom)"
SORT = "trier le classement"
STEPS = ("ouvrir Mon service", "chercher une structure", "changer de structure", "changer de fenêtre (Année)",
         "ouvrir Comparaison", SORT, sessions.DOWNLOAD, "revenir à Mon service")
# The messages a browser's click sends, in the walk's order (the sort sends none).
BROWSER_RERUNS = ("ouvrir Mon service", "chercher une structure", "changer de structure",
                  "changer de fenêtre (Année)", "ouvrir Comparaison", "revenir à Mon service")


class ClickFailed(Exception):
    pass


@dataclass
class Widget:
    kind: str
    label: str
    value: object  # str, list[str], bool or None (no value: not sent, as the frontend)
    options: list[str] = field(default_factory=list)
    server_set: bool = False


def widget_value(kind: str, proto) -> object:
    """The value the 1.67 frontend registers for a widget it draws: the server's when it sets one, else the
    default."""
    if kind in ("selectbox", "radio"):
        if proto.set_value:
            return proto.raw_value
        return proto.options[proto.default] if proto.HasField("default") and proto.options else None
    if kind in ("text_input", "text_area"):
        return proto.value if proto.set_value else proto.default
    if kind == "multiselect":
        return list(proto.raw_values) if proto.set_value else [proto.options[i] for i in proto.default]
    if kind == "date_input":
        return list(proto.value) if proto.set_value else list(proto.default)
    if kind == "checkbox":
        return proto.value if proto.set_value else proto.default
    return None


def first_column(table) -> str:
    """The first column the grid shows (the table's column order if it has one, its pandas index left out): the
    header the walk clicks."""
    schema = pyarrow.ipc.open_stream(table.lazy_data.initial_chunk.data).schema
    index = {name for name in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(name, str)}
    shown = [name for name in schema.names if name not in index]
    return next((name for name in table.column_order if name in shown), shown[0])


def widget_state(widget_id: str, value: object) -> WidgetState:
    state = WidgetState(id=widget_id)
    if isinstance(value, bool):
        state.bool_value = value
    elif isinstance(value, str):
        state.string_value = value
    else:
        state.string_array_value.data.extend(value)
    return state


class ProtocolClient:
    """One person's tab: its HTTP client (cookies), its websocket, and what the frontend keeps between runs."""

    def __init__(self, url: str, assets: tuple[list[str], list[str]]):
        self.url, (self.assets, self.lazy_assets) = url, assets
        self.http = httpx.Client(base_url=url, headers=BROWSER_HEADERS, timeout=CLICK_TIMEOUT_S)
        self.closing = ExitStack()  # the websocket, closed with the client
        self.socket = None
        self.session_id = ""
        self.pages: dict[str, str] = {}  # url path ("" for the default page) → page_script_hash
        self.page_hash, self.address = "", url + "/"
        # The frontend's message cache: hash → (message, the run count when last received or referred to); a
        # finished run counts one, and an entry older than the server's max_cached_message_age is dropped.
        self.cache: dict[str, tuple[ForwardMsg, int]] = {}
        self.runs, self.max_age = 0, 2
        self.widgets: dict[str, Widget] = {}
        self.downloads: dict[str, str] = {}  # label → deferred file id
        self.tables: list[tuple[str, str, int]] = []  # this run's lazy tables: source id, first column, page size
        self.errors: list[str] = []
        self.waits: list[str] = []
        self.server_s = 0.0  # the last click's part from message sent to script_finished
        self.sent: list[dict] = []

    # -- the page load ----------------------------------------------------------------------------------------
    def open(self) -> None:
        self.http.get("/").raise_for_status()
        self.fetch_all(self.assets)
        for path in ("/_stcore/health", "/_stcore/host-config", "/favicon.png"):
            self.fetch(path)
        xsrf = self.http.cookies.get("_streamlit_xsrf", "")
        host = urlparse(self.url).netloc
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self.socket = self.closing.enter_context(connect(
            f"ws://{host}/_stcore/stream", subprotocols=["streamlit", xsrf] if xsrf else ["streamlit"],
            origin=self.url, additional_headers={"Cookie": cookie}, max_size=None, open_timeout=CLICK_TIMEOUT_S))
        self.rerun(first=True)

    def fetch_all(self, paths: list[str]) -> None:
        with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
            list(pool.map(self.fetch, paths))

    def fetch(self, path: str) -> int:
        """A GET read to the last byte; returns its bytes. Like Chromium, asked once more on a fresh connection when
        the server had closed the kept-alive one (uvicorn closes an idle connection after 5 s)."""
        for attempt in (1, 2):
            try:
                size = 0
                with self.http.stream("GET", path) as response:
                    if response.status_code == 404:
                        raise ClickFailed(f"introuvable (404) : {path}")
                    response.raise_for_status()
                    for chunk in response.iter_raw():
                        size += len(chunk)
                return size
            except (httpx.ReadError, httpx.RemoteProtocolError):
                if attempt == 2:
                    raise

    # -- a click ----------------------------------------------------------------------------------------------
    def rerun(self, first: bool = False, page_hash: str | None = None) -> None:
        """One rerun_script as the frontend sends it, then every message until the run's script_finished."""
        message = BackMsg()
        state = message.rerun_script
        state.widget_states.SetInParent()  # sent even when empty, as the frontend does
        if page_hash is not None:  # another page: its hash, no widget state (the frontend starts it afresh)
            state.page_script_hash = page_hash
            self.widgets = {}
        elif not first:
            state.page_script_hash = self.page_hash
            state.widget_states.widgets.extend(widget_state(widget_id, widget.value)
                                               for widget_id, widget in self.widgets.items()
                                               if widget.value is not None)
        state.cached_message_hashes.extend(self.cache)
        context = state.context_info
        context.timezone, context.timezone_offset, context.locale = "UTC", 0, "fr-FR"
        context.url, context.is_embedded, context.color_scheme = self.address, False, "light"
        self.sent.append(MessageToDict(message))
        started = time.perf_counter()
        self.socket.send(message.SerializeToString())
        # The browser fetches the code of the elements it draws (charts, tables, pickers) while the first run
        # arrives: the same server process serves both.
        with ThreadPoolExecutor(1) as alongside:
            fetched = alongside.submit(self.fetch_all, self.lazy_assets if first else [])
            self.receive_run()
            self.server_s = time.perf_counter() - started
            fetched.result()  # a failed request fails the click

    def receive_run(self) -> None:
        deadline = time.perf_counter() + CLICK_TIMEOUT_S
        widgets: dict[str, Widget] = {}
        self.tables = []
        while True:
            message = self.receive(deadline)
            kind = message.WhichOneof("type")
            if kind == "ref_hash":
                cached = self.cache.get(message.ref_hash)
                if cached is None:
                    raise ClickFailed(f"message {message.ref_hash} absent du cache du client")
                self.cache[message.ref_hash] = (cached[0], self.runs)
                self.read_delta(cached[0], widgets)
            elif kind == "delta":
                if message.metadata.cacheable:
                    self.cache[message.hash] = (self.cache.get(message.hash, (message,))[0], self.runs)
                self.read_delta(message, widgets)
            elif kind == "new_session":
                if message.new_session.initialize.session_id:
                    self.session_id = message.new_session.initialize.session_id
                self.max_age = message.new_session.config.max_cached_message_age
                self.page_hash = message.new_session.page_script_hash or self.page_hash
            elif kind == "navigation":
                self.pages = {page.url_pathname: page.page_script_hash for page in message.navigation.app_pages}
                self.page_hash = message.navigation.page_script_hash or self.page_hash
            elif kind == "page_not_found":
                raise ClickFailed("page introuvable")
            elif kind == "script_finished":
                status = message.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise ClickFailed("erreur de compilation du script")
                break
        # What the frontend keeps: the widgets drawn by this run, a value already held kept unless the server sets
        # one; the cache one run older.
        for widget_id, widget in widgets.items():
            held = self.widgets.get(widget_id)
            if held is not None and not widget.server_set:
                widget.value = held.value
        self.widgets = widgets
        self.runs += 1
        self.cache = {h: (m, run) for h, (m, run) in self.cache.items() if self.runs - run <= self.max_age}

    def receive(self, deadline: float) -> ForwardMsg:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise ClickFailed(f"pas de fin d'exécution en {CLICK_TIMEOUT_S} s")
        try:
            payload = self.socket.recv(timeout=left)
        except TimeoutError as error:
            raise ClickFailed(f"pas de fin d'exécution en {CLICK_TIMEOUT_S} s") from error
        message = ForwardMsg()
        message.ParseFromString(payload)
        return message

    def read_delta(self, message: ForwardMsg, widgets: dict[str, Widget]) -> None:
        delta = message.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.errors.append(f"exception : {element.exception.type} {element.exception.message[:160]}")
        elif kind == "alert":
            body = element.alert.body.strip()
            if element.alert.format == Alert.ERROR and not body.startswith(sessions.LEVEL_BANNER):
                self.errors.append(f"alerte : {body[:160]}")
            elif body.startswith(sessions.WAITING):
                self.waits.append(body[:60] + "…")
        elif kind == "dataframe":
            lazy = element.dataframe.lazy_data
            if lazy.source_id and lazy.sortable and lazy.row_count > lazy.page_size:
                self.tables.append((lazy.source_id, first_column(element.dataframe), lazy.page_size))
        elif kind == "download_button":
            self.downloads[element.download_button.label] = element.download_button.deferred_file_id
        elif kind in ("selectbox", "radio", "text_input", "text_area", "multiselect", "checkbox",
                      "date_input"):
            proto = getattr(element, kind)
            options = list(getattr(proto, "options", []))
            widgets[proto.id] = Widget(kind, proto.label, widget_value(kind, proto), options,
                                       bool(getattr(proto, "set_value", False)))

    # -- the walk's gestures ----------------------------------------------------------------------------------
    def widget(self, label: str) -> tuple[str, Widget] | None:
        return next(((i, w) for i, w in self.widgets.items() if w.label == label), None)

    def set_and_rerun(self, label: str, value: object) -> None:
        found = self.widget(label)
        if found is None:
            raise ClickFailed(f"pas de champ « {label} » sur la page")
        found[1].value = value
        self.rerun()

    def open_page(self, path: str) -> None:
        page_hash = self.pages.get(path)
        if page_hash is None:
            raise ClickFailed(f"pas de page « {path or '/'} » dans la navigation")
        self.rerun(page_hash=page_hash)
        self.address = f"{self.url}/{path}"

    def operation(self, fill) -> ForwardMsg:
        """A backend_operation_request (``fill`` sets its payload) and the server's answer to it."""
        request_id = str(uuid.uuid4())
        message = BackMsg()
        message.backend_operation_request.request_id = request_id
        message.backend_operation_request.session_id = self.session_id
        fill(message.backend_operation_request)
        self.sent.append(MessageToDict(message))
        self.socket.send(message.SerializeToString())
        deadline = time.perf_counter() + CLICK_TIMEOUT_S
        while True:
            answer = self.receive(deadline)
            if answer.WhichOneof("type") == "backend_operation_response" and \
                    answer.backend_operation_response.request_id == request_id:
                response = answer.backend_operation_response
                if response.error_msg:
                    raise ClickFailed(f"opération refusée : {response.error_msg[:160]}")
                return response

    def sort_first_table(self) -> None:
        """A click on the first column's header of the page's first table: when the table holds more rows than it
        was sent, the grid asks the server for its first page sorted (a dataframe_chunk), as the browser does;
        otherwise it sorts alone and nothing leaves (LookupError: no click for the server)."""
        if not self.tables:
            raise LookupError
        source_id, column, page_size = self.tables[0]

        def fill(request) -> None:
            request.dataframe_chunk.source_id = source_id
            request.dataframe_chunk.limit = page_size
            request.dataframe_chunk.sort.column = column
            request.dataframe_chunk.sort.direction = SortState.ASCENDING

        started = time.perf_counter()
        self.operation(fill)
        self.server_s = time.perf_counter() - started

    def download(self, label: str) -> int:
        """The deferred file asked for as the browser asks, then fetched to the last byte; returns its bytes."""
        file_id = self.downloads.get(label)
        if not file_id:
            raise ClickFailed(f"pas de bouton « {label} »")

        def fill(request) -> None:
            request.deferred_file.file_id = file_id

        response = self.operation(fill)
        address = response.deferred_file.url
        if not address:
            raise ClickFailed(f"téléchargement refusé : {MessageToDict(response)}")
        size = self.fetch(address)
        if not size:
            raise ClickFailed("téléchargement vide")
        return size

    def close(self) -> None:
        self.closing.close()
        self.http.close()


@dataclass
class Walker:
    """One session of a run: its structure, its clicks (whole and server part), what went wrong."""
    index: int
    structure: str
    times: dict[str, float] = field(default_factory=dict)
    server: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    waits: list[str] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)
    began: threading.Event = field(default_factory=threading.Event)


def protocol_walk(client: ProtocolClient, walker: Walker) -> None:
    code = walker.structure

    def search() -> None:
        if client.widget(SEARCH_LABEL) is None:
            raise LookupError  # 200 structures or fewer: no search box, no click
        client.set_and_rerun(SEARCH_LABEL, code)

    def choose() -> None:
        found = client.widget("Structure")
        option = next((o for o in found[1].options if o.startswith(f"{code} –")), None) if found else None
        if option is None:
            raise ClickFailed(f"la liste des structures n'offre pas {code}")
        client.set_and_rerun("Structure", option)

    def window() -> None:
        radio = next((w for w in client.widgets.values() if w.kind == "radio" and "Année" in w.options), None)
        if radio is None:
            raise ClickFailed("pas de choix de fenêtre « Année »")
        client.set_and_rerun(radio.label, "Année")

    gestures = {
        "ouvrir Mon service": client.open,
        "chercher une structure": search,
        "changer de structure": choose,
        "changer de fenêtre (Année)": window,
        "ouvrir Comparaison": lambda: client.open_page("comparaison"),
        SORT: client.sort_first_table,
        sessions.DOWNLOAD: lambda: client.download("Rapport Excel"),
        "revenir à Mon service": lambda: client.open_page(""),
    }
    for name in STEPS:
        errors_before = len(client.errors)
        started = time.perf_counter()
        try:
            gestures[name]()
        except LookupError:
            continue
        except Exception as error:  # a timeout, a closed socket, a refused request: the session's walk ends
            walker.errors.append(f"session {walker.index}, « {name} » : {type(error).__name__}: {error}"[:400])
            return
        walker.times[name] = time.perf_counter() - started
        walker.server[name] = client.server_s if name != sessions.DOWNLOAD else walker.times[name]
        walker.errors += [f"session {walker.index}, après « {name} » : {e}" for e in client.errors[errors_before:]]
        walker.waits += [f"session {walker.index}, après « {name} » : {w}" for w in client.waits]
        client.waits.clear()


def run_protocol_session(walker: Walker, url: str, assets: tuple[list[str], list[str]], ready: threading.Barrier,
                         stagger_s: float) -> None:
    client = ProtocolClient(url, assets)
    try:
        ready.wait()
        time.sleep(stagger_s * walker.index / max(1, ready.parties - 1))
        walker.began.set()
        protocol_walk(client, walker)
    except BaseException as error:
        walker.errors.append(f"session {walker.index} : {type(error).__name__}: {error}")
        ready.abort()
    finally:
        walker.sent = client.sent
        walker.began.set()
        client.close()


class FrameLog:
    """A browser's websocket frames: each rerun_script sent and the next script_finished (the server's part of a
    click, as the protocol client times it), and every message sent (to compare with the client's)."""

    def __init__(self):
        self.sent: list[dict] = []
        self.reruns: list[float] = []
        self.finished: list[float] = []
        self.sorts: dict[str, float] = {}  # dataframe_chunk request id → sent
        self.sorted: dict[str, float] = {}  # … → answered

    def attach(self, page) -> None:
        def on_socket(socket) -> None:
            socket.on("framesent", self.on_sent)
            socket.on("framereceived", self.on_received)
        page.on("websocket", on_socket)

    def on_sent(self, payload) -> None:
        message = BackMsg()
        message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        self.sent.append(MessageToDict(message))
        if message.WhichOneof("type") == "rerun_script":
            self.reruns.append(time.perf_counter())
        elif message.backend_operation_request.HasField("dataframe_chunk"):
            self.sorts[message.backend_operation_request.request_id] = time.perf_counter()

    def on_received(self, payload) -> None:
        if isinstance(payload, str):
            return
        message = ForwardMsg()
        message.ParseFromString(payload)
        if message.WhichOneof("type") == "script_finished" and \
                message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self.finished.append(time.perf_counter())
        elif message.backend_operation_response.request_id in self.sorts:
            self.sorted.setdefault(message.backend_operation_response.request_id, time.perf_counter())


def run_browser_session(walker: Walker, url: str, ready: threading.Barrier, stagger_s: float) -> None:
    """bench_sessions' run_session with the websocket's frames recorded; a search box missing at 300 structures
    shifts no name (the walk's steps are those of bench_sessions)."""
    frames = FrameLog()
    session = sessions.Session(walker.index, walker.structure, OUT / f"protocole_navigateur_erreur_{walker.index}.png")
    try:
        with chromium() as browser:
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
            context.set_default_timeout(sessions.CLICK_TIMEOUT_MS)
            page = context.new_page()
            frames.attach(page)
            ready.wait()
            time.sleep(stagger_s * walker.index / max(1, ready.parties - 1))
            walker.began.set()
            sessions.walk(page, url, session)
            context.close()
    except BaseException as error:
        session.errors.append(f"session {walker.index} : {type(error).__name__}: {error}")
        ready.abort()
    finally:
        walker.began.set()
        walker.times = dict(session.times)
        reruns = [name for name in BROWSER_RERUNS if name in session.times]
        walker.server = {name: part for name, part in zip(reruns, frames_in_order(frames))}
        sorts = [frames.sorted[i] - sent for i, sent in frames.sorts.items() if i in frames.sorted]
        if sorts:  # the first: the click's; the grid may ask for more rows afterwards
            walker.server[SORT] = sorts[0]
        if sessions.DOWNLOAD in session.times:
            walker.server[sessions.DOWNLOAD] = session.times[sessions.DOWNLOAD]
        walker.errors, walker.waits, walker.sent = session.errors, session.waits, frames.sent


def frames_in_order(frames: FrameLog) -> list[float]:
    """Each rerun's seconds from sent to the next script_finished, in the order sent."""
    parts = []
    for sent in frames.reruns:
        end = next((f for f in frames.finished if f >= sent), None)
        if end is not None:
            parts.append(end - sent)
    return parts


def warm_up(url: str) -> tuple[list[str], list[str]]:
    """bench_sessions' warm-up (one Chromium visit of Mon service, not counted), which also lists what a new
    browser fetches from the server besides the page, the websocket and the health check: the client's assets,
    those fetched before the websocket opens and those fetched while the first run arrives."""
    before: list[str] = []
    during: list[str] = []

    def note(request) -> None:
        parsed = urlparse(request.url)
        if parsed.netloc == urlparse(url).netloc and parsed.path not in ("/", "/favicon.png") \
                and not parsed.path.startswith(("/_stcore/", "/media/")) and parsed.path not in before + during:
            (during if opened else before).append(parsed.path)

    opened: list[bool] = []
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
        page = context.new_page()
        page.on("request", note)
        page.on("websocket", lambda socket: opened.append(True))
        timed(page, lambda: page.goto(url), "mise en route (non comptée)", sessions.LEVEL_BANNER)
        context.close()
    return before, during


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def start_profiler(pid: int, path: Path) -> subprocess.Popen | None:
    if not shutil.which("py-spy"):
        print("py-spy absent : pas de profil")
        return None
    return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "50",
                             "--nonblocking", "--output", str(path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen | None) -> None:
    if profiler is not None:
        profiler.send_signal(2)  # SIGINT: py-spy writes its file and stops
        profiler.wait(timeout=60)


def profile_summary(path: Path, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """py-spy's collapsed stacks (every thread of the server, idle waits left out): the share of the samples spent in
    each function itself (« propre »), and the share in which each of the project's functions is on the stack
    (« projet », inclusive), the busiest first."""
    if not path.exists():
        return {}
    own: dict[str, int] = {}
    project: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        total += int(count)
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
        for frame in set(frames):
            if str(PROJECT) in frame or frame.endswith(("app.py)",)) or "(pages/" in frame or "(ui/" in frame \
                    or "(indicators/" in frame:
                project[frame] = project.get(frame, 0) + int(count)
    if not total:
        return {}
    return {kind: [(frame[:150], count / total) for frame, count in sorted(counts.items(), key=lambda i: -i[1])[:top]]
            for kind, counts in (("propre", own), ("projet", project))}


def measure(source: Path, n: int, batch_rows: int, structures: list[str], stagger_s: float, browsers: bool,
            profile: bool = False) -> dict:
    """N sessions (protocol clients, or Chromium with ``browsers``) and the batch (when ``batch_rows``) against a
    server on a fresh copy of ``source``; bench_sessions' measure with another client."""
    client = "navigateurs" if browsers else "protocole"
    base = OUT / f"protocol_{source.stem}_n{n}.duckdb"
    for leftover in (base, Path(f"{base}.wal")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(source, base)
    csv_path = OUT / f"sessions_batch_{source.stem}.csv"
    rows = sessions.write_batch(csv_path, base, batch_rows) if batch_rows else 0
    load_before = os.getloadavg()[0]
    log_path = OUT / f"protocol_serveur_{client}_{source.stem}_n{n}.log"
    process, port = sessions.start_logged_server(base, log_path)
    watcher = sessions.Watcher(process.pid)
    walkers = [Walker(i, structures[i % len(structures)]) for i in range(n)]
    ready = threading.Barrier(n)
    batch: dict = {"rows": rows}
    profile_path = OUT / f"protocol_profil_{source.stem}_n{n}.txt"
    profiler = None
    try:
        url = wait_healthy(process, port)
        assets = warm_up(url)
        target = run_browser_session if browsers else run_protocol_session
        threads = [threading.Thread(target=target, args=(w, url, ready, stagger_s) if browsers else
                                    (w, url, assets, ready, stagger_s)) for w in walkers]
        if profile:
            profiler = start_profiler(process.pid, profile_path)
        watcher.start()
        began, server_cpu = time.perf_counter(), sessions.cpu_seconds(process.pid)
        machine_cpu, client_cpu = sessions.machine_busy_seconds(), own_cpu_seconds()
        for thread in threads:
            thread.start()
        for walker in walkers:
            walker.began.wait()
        batch_thread = threading.Thread(target=sessions.run_batch, args=(csv_path, base, batch))
        if batch_rows:
            batch_thread.start()
        for thread in threads:
            thread.join()
        if batch_rows:
            batch_thread.join()
        wall = time.perf_counter() - began
        server_cpu = sessions.cpu_seconds(process.pid) - server_cpu
        machine_cpu, client_cpu = sessions.machine_busy_seconds() - machine_cpu, own_cpu_seconds() - client_cpu
    finally:
        stop_profiler(profiler)
        hwm_kib = sessions.status_kib(process.pid, "VmHWM")
        watcher.stop.set()
        if watcher.is_alive():
            watcher.join()
        stop_server(process)
    every = [s for w in walkers for s in w.times.values()]
    kinds: dict[str, list[float]] = {}
    parts: dict[str, list[float]] = {}
    for walker in walkers:
        for name, seconds in walker.times.items():
            kinds.setdefault(name, []).append(seconds)
        for name, seconds in walker.server.items():
            parts.setdefault(name, []).append(seconds)
    return {
        "date": datetime.now().isoformat(timespec="minutes"), "client": client, "n": n, "base": source.name,
        "wall_s": wall, "clicks": len(every), "server_cpu_s": server_cpu, "machine_cpu_s": machine_cpu,
        "this_process_cpu_s": client_cpu, "browser_cpu_s": watcher.client_seconds(),
        "median_s": statistics.median(every) if every else None,
        "p95_s": sessions.nearest_rank(every, 0.95) if every else None,
        "kinds": {name: {"median_s": statistics.median(v), "p95_s": sessions.nearest_rank(v, 0.95),
                         "count": len(v)} for name, v in kinds.items()},
        "server_parts": {name: statistics.median(v) for name, v in parts.items()},
        "server_peak_rss_mib": watcher.peak_rss_kib / 1024, "server_vmhwm_mib": hwm_kib / 1024,
        "load_before": load_before, "load_peak": watcher.peak_load, "cores": os.cpu_count(),
        "errors": [e for w in walkers for e in w.errors], "waits": [x for w in walkers for x in w.waits],
        "batch": batch, "server_log": str(log_path), "assets": [len(part) for part in assets],
        "sent": walkers[0].sent if walkers else [],
        "profile": profile_summary(profile_path) if profile else {},
    }


def seconds_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def report(results: list[dict], structures: int) -> None:
    baseline = next((r for r in results if r["n"] == 1 and r["p95_s"]), None)
    print(f"\n{structures:,} structures, clients du protocole de Streamlit, message envoyé → script_finished "
          f"(p95 au rang le plus proche ; « trier le classement » compté quand le serveur trie), "
          f"{os.cpu_count()} cœurs")
    print(f"  {'N':>3} {'clics':>6} {'médiane':>9} {'p95':>9} {'p95/p95(1)':>11} {'RSS serveur':>12} {'VmHWM':>9} "
          f"{'charge':>11} {'erreurs':>8}  import en lot")
    for r in results:
        ratio = f"{r['p95_s'] / baseline['p95_s']:.2f}×" if baseline and r["p95_s"] else "–"
        landed = sessions.batch_words(r["batch"])
        print(f"  {r['n']:>3} {r['clicks']:>6} {seconds_text(r['median_s']):>9} {seconds_text(r['p95_s']):>9} "
              f"{ratio:>11} {r['server_peak_rss_mib']:>8.0f} Mio {r['server_vmhwm_mib']:>5.0f} Mio "
              f"{r['load_before']:>4.1f} → {r['load_peak']:>4.1f} {len(r['errors']):>8}  {landed}")
    for r in results:
        print(f"\n  N = {r['n']} : {r['wall_s']:.0f} s ; processeur de toute la machine {r['machine_cpu_s']:.0f} s "
              f"(sur {r['wall_s'] * r['cores']:.0f} s possibles), dont serveur {r['server_cpu_s']:.0f} s, "
              f"clients (ce processus) {r['this_process_cpu_s']:.0f} s, import en lot "
              f"{r['batch'].get('cpu_s', 0):.0f} s")
        print("    par clic, médiane / p95 (nombre)")
        for name, k in r["kinds"].items():
            print(f"    {name:<32} {seconds_text(k['median_s']):>9} {seconds_text(k['p95_s']):>9} ({k['count']})")
        for wait in r["waits"][:10]:
            print(f"    attente montrée : {wait}")
        for error in r["errors"][:20]:
            print(f"    ERREUR {error}")
        if len(r["errors"]) > 20:
            print(f"    … et {len(r['errors']) - 20} autres erreurs")
        if r["errors"]:
            print(f"    journal du serveur : {r['server_log']}")
        if r["batch"].get("exit"):
            print(f"    import en lot, sortie d'erreur : {r['batch']['stderr']}")
        for kind, ranked in (r["profile"] or {}).items():
            print(f"    où le serveur passe son temps (py-spy, temps {kind}, part des échantillons)")
            for frame, share in ranked:
                print(f"    {share:>6.1%}  {frame}")


def message_outline(message: dict) -> tuple[str, dict[str, str]]:
    """A sent message: its kind, page, address and cached hashes (their number) in one line, and its widgets' values
    by widget id."""
    if "rerunScript" not in message:
        operation = {kind: {k: v for k, v in payload.items() if k not in ("fileId", "sourceId")}
                     for kind, payload in message.get("backendOperationRequest", {}).items()
                     if kind not in ("requestId", "sessionId")}
        return f"opération {json.dumps(operation, ensure_ascii=False)}", {}
    state = message["rerunScript"]
    widgets = {w["id"]: json.dumps({k: v for k, v in w.items() if k != "id"}, ensure_ascii=False)
               for w in state.get("widgetStates", {}).get("widgets", [])}
    line = (f"rerun page={state.get('pageScriptHash', '')[:8] or '–'} "
            f"adresse=/{state.get('contextInfo', {}).get('url', '').split('/', 3)[-1]} "
            f"caches={len(state.get('cachedMessageHashes', []))} champs={len(widgets)}")
    return line, widgets


def label_of(widget_id: str) -> str:
    return widget_id.rsplit("-", 1)[-1] if not widget_id.endswith("-None") else widget_id[5:13]


def print_messages(browser: list[dict], client: list[dict]) -> None:
    for seen, ours in zip(browser, client):
        (seen_line, seen_widgets), (our_line, our_widgets) = message_outline(seen), message_outline(ours)
        print(f"      navigateur {seen_line}\n      protocole  {our_line}")
        for widget_id in sorted(set(seen_widgets) | set(our_widgets)):
            if seen_widgets.get(widget_id) != our_widgets.get(widget_id):
                print(f"        champ {label_of(widget_id)} : navigateur {seen_widgets.get(widget_id, 'absent')}, "
                      f"protocole {our_widgets.get(widget_id, 'absent')}")
    if len(browser) != len(client):
        print(f"      nombre de messages : navigateur {len(browser)}, protocole {len(client)}")


def compare_report(pairs: list[tuple[dict, dict]], structures: int) -> None:
    print(f"\n{structures:,} structures, sans import en lot : navigateurs Chromium (marche de bench_sessions) contre "
          "clients du protocole, chacun sur son serveur neuf")
    for browser, client in pairs:
        n = browser["n"]
        print(f"\n  N = {n}")
        rows = [("processeur du serveur par marche", browser["server_cpu_s"] / n, client["server_cpu_s"] / n, "s"),
                ("RSS de pointe du serveur", browser["server_peak_rss_mib"], client["server_peak_rss_mib"], "Mio")]
        for name in STEPS:
            if name in browser["server_parts"] and name in client["server_parts"]:
                rows.append((f"part serveur : {name}", browser["server_parts"][name],
                             client["server_parts"][name], "s"))
        print(f"    {'':<52} {'navigateur':>11} {'protocole':>11} {'rapport':>8}")
        for label, seen, ours, unit in rows:
            ratio = f"{ours / seen:.2f}" if seen else "–"
            print(f"    {label:<52} {seen:>8.2f} {unit:<3}{ours:>8.2f} {unit:<3}{ratio:>7}")
        print(f"    clic entier (médiane) : navigateur {seconds_text(browser['median_s'])}, "
              f"protocole {seconds_text(client['median_s'])} ; processeur des navigateurs "
              f"{sum(browser['browser_cpu_s'].values()):.0f} s, des clients du protocole "
              f"{client['this_process_cpu_s']:.0f} s ; erreurs {len(browser['errors'])} / {len(client['errors'])}")
        print("    messages envoyés par la session 0 (champs : seulement ceux qui diffèrent) :")
        print_messages(browser["sent"], client["sent"])
        for error in browser["errors"] + client["errors"]:
            print(f"    ERREUR {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--sessions", default="1,5,20,50", help="les N à mesurer, séparés par des virgules")
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--stagger", type=float, default=2.0, help="secondes sur lesquelles les arrivées s'étalent")
    parser.add_argument("--compare", action="store_true",
                        help="à chaque N, les navigateurs puis le protocole, sans import en lot")
    parser.add_argument("--profile", action="store_true", help="profil du serveur par py-spy")
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",")]
    source, structures = demo_base(args.structures, max(counts))  # bench_sessions' base and structures
    results, pairs = [], []
    for n in counts:
        runs = [True, False] if args.compare else [False]
        measured = []
        for browsers in runs:
            print(f"N = {n} : {n} session(s) ({'navigateurs' if browsers else 'protocole'}), "
                  + ("sans import en lot" if args.compare else f"import en lot de {args.batch_rows:,} lignes"),
                  flush=True)
            result = measure(source, n, 0 if args.compare else args.batch_rows, structures, args.stagger, browsers,
                             args.profile)
            measured.append(result)
            with (OUT / "protocol.jsonl").open("a", encoding="utf-8") as log:
                log.write(json.dumps({**result, "structures": args.structures, "compare": args.compare},
                                     ensure_ascii=False) + "\n")
        if args.compare:
            pairs.append((measured[0], measured[1]))
        results.append(measured[-1])
    if args.compare:
        compare_report(pairs, args.structures)
    report(results, args.structures)


if __name__ == "__main__":
    main()
