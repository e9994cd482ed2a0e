"""Dashboard benchmark, run by hand: ``python3 -m bench.bench_app [--structures 15000] [--repeat 3]``.

The pages « Comparaison » and « Mon service » on 15,000 demo structures (``indicators.demo.load_demo``, built
once in ``bench/out/app_<n>.duckdb``, then reused), through Streamlit's public interfaces only. Prints, each the
median of ``--repeat`` runs on the same file:
- baselines: an AppTest run of a one-line page (AppTest's own cost) and one ``compliance.assess`` of the
  default window (the work the caches save);
- cold: a fresh AppTest with ``st.cache_data`` and ``st.cache_resource`` cleared, then ``switch_page`` and
  ``run``; warm: a second ``run`` of the same AppTest; the ratio warm / cold (target ≤ 0.2);
- what each page sends to the browser on its first display, as the browser receives it: ``streamlit run``
  serving the same base, each page opened in Debian's Chromium (Playwright) in a session of its own, the bytes
  of every WebSocket frame received until the page has its title and nothing more arrives for a while. The
  Comparaison target is under 2 MiB."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import resource
import statistics
import time
from datetime import date
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from indicators import compliance, db, rights
from indicators.demo import load_demo
from tests.helpers import PROJECT, chromium, new_page, served

OUT = PROJECT / "bench" / "out"
APP = str(PROJECT / "app.py")
PAGES = {"Comparaison": ("pages/comparaison.py", "/comparaison"), "Mon service": ("pages/mon_service.py", "/")}
SIZE_TARGET = 2 * 1024 * 1024
MiB = 1024 * 1024
# A page has finished its first display when no frame has arrived for this long after its title showed.
QUIET_S = 3.0


def demo_base(size: int, sessions: int) -> tuple[Path, list[str]]:
    """The demo base of ``size`` structures (built once in bench/out) and one structure per session, spread over the
    programme (a different network, department…)."""
    OUT.mkdir(parents=True, exist_ok=True)
    source = OUT / f"app_{size}.duckdb"
    if not source.exists():
        build(source, size)
    con = db.connect(source)
    codes = [c for (c,) in con.execute("SELECT code FROM structure WHERE NOT territorial ORDER BY code").fetchall()]
    db.close(source)
    step = max(1, len(codes) // sessions)
    return source, [codes[(7 + i * step) % len(codes)] for i in range(sessions)]


def quiet_streamlit() -> None:
    """AppTests built outside a script run log harmless « missing ScriptRunContext » warnings: keep errors
    only (a page's exception still stops the benchmark, see check()). Streamlit sets its loggers' level when it
    first reads its configuration: read it first, then lower them."""
    st.get_option("logger.level")
    for name in list(logging.root.manager.loggerDict):
        if name == "streamlit" or name.startswith("streamlit."):
            logging.getLogger(name).setLevel(logging.ERROR)


def build(path: Path, structures: int) -> float:
    """The demo data through the importer, into a temporary file renamed once complete."""
    start = time.perf_counter()
    partial = path.with_name(path.stem + ".partial.duckdb")
    for leftover in (partial, Path(f"{partial}.wal")):
        leftover.unlink(missing_ok=True)
    con = db.connect(partial)
    load_demo(con, rights.COMMAND_LINE, structures, seed=42)
    con.execute("CHECKPOINT")
    db.close(partial)
    partial.rename(path)
    return time.perf_counter() - start


def median_time(function, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def check(at: AppTest, title: str) -> None:
    if at.exception:
        raise SystemExit(f"La page « {title} » a levé une exception : {at.exception[0].value}")
    shown = [t.value for t in at.title]
    if shown[:1] != [title]:
        raise SystemExit(f"AppTest n'affiche pas « {title} » mais {shown}")


def cold(page: str, title: str) -> tuple[AppTest, float]:
    """Empty caches, fresh session: the first visit after an import (or a server start, imports aside)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page(page)
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    check(at, title)
    return at, elapsed


def warm(at: AppTest, title: str) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    check(at, title)
    return elapsed


def received(browser, url: str, title: str) -> dict:
    """What a new session receives on the page's first display: WebSocket frames, their bytes, the largest."""
    page = new_page(browser)
    frames: list[int] = []
    last = [time.monotonic()]

    def on_frame(payload) -> None:
        frames.append(len(payload.encode() if isinstance(payload, str) else payload))
        last[0] = time.monotonic()

    page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
    page.goto(url)
    page.locator("h1").filter(has_text=title).first.wait_for(timeout=300_000)
    while time.monotonic() - last[0] < QUIET_S:
        page.wait_for_timeout(200)
    page.context.close()
    return {"total": sum(frames), "frames": len(frames), "largest": max(frames, default=0)}


def sent_to_browser(path: Path) -> dict[str, dict]:
    """Each page's first display in Chromium, served by ``streamlit run`` on the benchmark's base. A visit of
    the default page first, not counted, so that each measured page is routed as every later session is."""
    with served(path) as url, chromium() as browser:
        received(browser, url, "Mon service")
        return {title: received(browser, url + address, title) for title, (_, address) in PAGES.items()}


def size_text(n: float) -> str:
    return f"{n / MiB:.2f} Mio" if n >= MiB / 10 else f"{n / 1024:.1f} Kio"


def runs_text(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    quiet_streamlit()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"app_{args.structures}.duckdb"
    built = None if path.exists() else build(path, args.structures)
    # Before the first AppTest: the pages read it through settings.db_path() on every run.
    os.environ["INDICATEURS_DB"] = str(path)
    load_before = os.getloadavg()[0]

    con = db.connect(path)
    cur = con.cursor()
    n_structures = cur.execute("SELECT count(*) FROM structure").fetchall()[0][0]
    n_rows = cur.execute("SELECT count(*) FROM observation").fetchall()[0][0]
    cur.close()
    today = date.today()
    window = compliance.resolve_window(con, "12m", today)
    t_assess = median_time(lambda: compliance.assess(con, window, rights.COMMAND_LINE, today=today), args.repeat)

    def bare_page():
        AppTest.from_string("import streamlit as st\nst.title('Vide')", default_timeout=300).run()

    t_bare = median_time(bare_page, args.repeat)

    # One visit of each page, not counted: the first cold run must not also pay the imports of plotly, the
    # pages' modules… (a server has them already after its first session).
    first = {title: cold(page, title)[1] for title, (page, _) in PAGES.items()}
    results = {}
    for title, (page, _) in PAGES.items():
        colds, warms = [], []
        for _ in range(args.repeat):
            gc.collect()
            at, t_cold = cold(page, title)
            colds.append(t_cold)
            gc.collect()
            warms.append(warm(at, title))
        results[title] = {"cold": colds, "warm": warms}
        del at
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The server opens the base itself: this process lets go of it first.
    st.cache_resource.clear()
    db.close_all()
    sent = sent_to_browser(path)

    origin = f"construite en {built:.0f} s" if built is not None else "réutilisée"
    print(f"{n_structures:,} structures, {n_rows:,} valeurs (base {path.relative_to(PROJECT)}, {origin}), "
          f"fenêtre par défaut {window.label}")
    print(f"  charge de la machine : {load_before:.1f} au début, {os.getloadavg()[0]:.1f} à la fin "
          f"({os.cpu_count()} cœurs) ; temps en secondes, médiane de {args.repeat}")
    print(f"  référence AppTest d'une page d'une ligne  : {t_bare:.3f} s")
    print(f"  référence compliance.assess (fenêtre 12m) : {t_assess:.3f} s")
    for title, r in results.items():
        t_cold, t_warm = statistics.median(r["cold"]), statistics.median(r["warm"])
        ratio = t_warm / t_cold
        print(f"  {title} : à froid {t_cold:.2f} s, à chaud {t_warm:.2f} s → {ratio:.2f}× (cible ≤ 0,2)"
              f"{'' if ratio <= 0.2 else '  ← AU-DESSUS DE LA CIBLE'}")
        print(f"    essais à froid {runs_text(r['cold'])} ; à chaud {runs_text(r['warm'])} ; "
              f"visite de mise en route (non comptée) {first[title]:.2f}")
    for title, s in sent.items():
        target = ""
        if title == "Comparaison":
            target = " (cible < 2 Mio" + (")" if s["total"] < SIZE_TARGET else ")  ← AU-DESSUS DE LA CIBLE")
        print(f"  {title} : Chromium reçoit {size_text(s['total'])} ({s['total']:,} octets) au premier affichage, "
              f"en {s['frames']} trames WebSocket, la plus grosse {size_text(s['largest'])}{target}")
    print(f"  pic mémoire du processus (AppTest) : {peak:.0f} Mio")


if __name__ == "__main__":
    main()
