"""Many people at once, run by hand: ``python3 -m bench.bench_sessions [--structures 15000] [--sessions 1,5,20,50]
[--batch-rows 100000] [--stagger 2]``.

For each N of ``--sessions``: ``streamlit run`` serves a fresh copy of the demo base of ``--structures`` structures
(``bench/out/app_<n>.duckdb``, built once by bench_app's ``build``; copied so that the batch import leaves the
shared one alone), then N people walk at once, each in Debian's Chromium: open Mon service, pick another structure
(a different one each), change the window to « Année », open Comparaison, sort the ranking, download « Rapport
Excel » (timed until the file is complete), go back to Mon service. Clicks are timed as in bench_clicks (click to
page settled, its own helpers). Starts are staggered over ``--stagger`` seconds, then each clicks as soon as its
page has settled.
Once every session has started, one command-line batch import of ``--batch-rows`` canonical rows (new months for
existing structures) runs to completion beside them.

Each session is a thread with its own ``sync_playwright()`` and its own Chromium: Playwright's sync API may not
be shared between threads, and the sync helpers of bench_clicks (``timed``, ``settled``) are reused as they are,
so that a click here is measured exactly as it is there. The price is one browser process per session (a
context alone would share it); the machine's available memory is printed and N is skipped when it cannot hold it.

Prints per N: median and 95th percentile (nearest rank) of click → settled over all clicks, and per kind of click,
the ratio of p95 to N = 1's, the server's peak memory (its process tree's summed RSS polled every 0.2 s, and the
kernel's VmHWM), the machine's load, errors (a Streamlit exception or error alert on the page, a click that times
out, a failed download; a screenshot of the page in ``bench/out/sessions_erreur_n<N>_<session>.png``, the server's
output in ``bench/out/sessions_serveur_*.log``) and the batch's exit code, wall time and error output. Writes the
same as JSON lines to ``bench/out/sessions.jsonl``."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from bench.bench_app import demo_base
from bench.bench_clicks import search, sidebar_select, timed
from indicators import db
from tests.helpers import (CANONICAL_HEADER, GOLD, HEADLESS, PROJECT, chromium, free_port, stop_server,
                           wait_healthy)

OUT = PROJECT / "bench" / "out"
POLL_S = 0.2
CLICK_TIMEOUT_MS = 120_000
# What one session costs the client side, measured on this machine: a Chromium (browser, renderer, GPU and network
# processes) and its Playwright driver. Used only to skip an N the machine cannot hold.
CLIENT_MiB_PER_SESSION = 450
FAILURES = '[data-testid="stException"], [data-testid="stAlertContentError"]'
FIRST_NEW_MONTH = date(2026, 11, 1)
DOWNLOAD = "télécharger le Rapport Excel"
LEVEL_BANNER = "Niveau atteignable"
# The page's own words while the base is held by another program (ui/access.py): not an error, but counted.
WAITING = ("Un import est en cours", "La base de données est occupée")
NOTICES = '[data-testid="stAlertContentInfo"], [data-testid="stAlertContentWarning"]'


@dataclass
class Session:
    index: int
    structure: str
    screenshot: Path
    times: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    waits: list[str] = field(default_factory=list)
    began: threading.Event = field(default_factory=threading.Event)


def month_after(first: date, k: int) -> tuple[date, date]:
    start = date(first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1, 1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, date.fromordinal(following.toordinal() - 1)


def write_batch(path: Path, base: Path, rows: int) -> int:
    """A canonical CSV of ``rows`` new values: the gold value of each indicator for existing structures, month
    after month from November 2026 (the demo stops in October), as many structures as needed. Returns its rows."""
    con = db.connect(base)
    structures = con.execute("SELECT code, name, network FROM structure WHERE NOT territorial ORDER BY code"
                             ).fetchall()
    db.close(base)
    lines = [CANONICAL_HEADER]
    month = 0
    while len(lines) - 1 < rows:
        start, end = month_after(FIRST_NEW_MONTH, month)
        for code, name, network in structures:
            for indicator, (value, numerator, denominator, count) in GOLD.items():
                lines.append(f"{code};{name};{network};{indicator};{start};{end};{value};{numerator};{denominator};"
                             f"{count}")
            if len(lines) - 1 >= rows:
                break
        month += 1
    path.write_text("\n".join(lines[:rows + 1]) + "\n", encoding="utf-8")
    return min(rows, len(lines) - 1)


def process_tree(root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """The process's own processor time and its waited-for children's, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """Processor time spent by every process on the machine (all cores), idle and waiting excluded."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def available_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def own_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_kind(pid: int) -> str | None:
    """« navigateurs » for Chromium's processes (chromium, chromiu, chr…: they rename themselves), « Playwright »
    for its drivers."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return "Playwright" if comm.startswith("node") else "navigateurs" if comm.startswith("chr") else None


class Watcher(threading.Thread):
    """Every POLL_S: the server tree's summed RSS, the machine's load and available memory (their extremes), and
    the processor time of each browser and driver process seen (the last look at each: a few tenths of a second
    of a process's end may be missed)."""

    def __init__(self, server_pid: int):
        super().__init__(daemon=True)
        self.server_pid, self.stop = server_pid, threading.Event()
        self.peak_rss_kib, self.peak_load, self.min_available_mib = 0, 0.0, available_mib()
        self.client_cpu: dict[int, tuple[str, float]] = {}

    def run(self) -> None:
        while not self.stop.wait(POLL_S):
            server = process_tree(self.server_pid)
            rss = sum(status_kib(pid, "VmRSS") for pid in server)
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.peak_load = max(self.peak_load, os.getloadavg()[0])
            self.min_available_mib = min(self.min_available_mib, available_mib())
            for pid in set(process_tree(os.getpid())) - set(server):
                kind = client_kind(pid)
                if kind:
                    self.client_cpu[pid] = (kind, own_cpu_seconds(pid))

    def client_seconds(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for kind, seconds in self.client_cpu.values():
            totals[kind] = totals.get(kind, 0.0) + seconds
        return totals


def failures_shown(page) -> list[str]:
    """Exceptions and error alerts on the page, except Mon service's level banner (red when no level is reached:
    a result, not a failure)."""
    texts = [text.strip() for text in page.locator(FAILURES).all_inner_texts()]
    return [text[:200] for text in texts if not text.startswith(LEVEL_BANNER)]


def download_excel(page) -> float:
    """Click to the workbook complete in the browser; raises when the download fails or is empty."""
    button = page.get_by_role("button", name="Rapport Excel", exact=True)
    button.scroll_into_view_if_needed()
    started = time.perf_counter()
    with page.expect_download(timeout=CLICK_TIMEOUT_MS) as info:
        button.click()
    download = info.value
    failure = download.failure()
    seconds = time.perf_counter() - started
    if failure or not Path(download.path()).stat().st_size:
        raise RuntimeError(f"téléchargement échoué : {failure or 'fichier vide'}")
    print(f"    {DOWNLOAD} {seconds:.2f} s", flush=True)
    return seconds


def walk(page, url: str, session: Session) -> None:
    """A person's walk; each click's seconds into ``session.times``, what went wrong into ``session.errors``."""
    other = session.structure
    sidebar = page.locator('[data-testid="stSidebar"]')

    def sort_ranking() -> None:
        grid = page.locator('[data-testid="stDataFrame"]:visible').first
        grid.scroll_into_view_if_needed()
        box = grid.locator("canvas").first.bounding_box()
        page.mouse.click(box["x"] + 25, box["y"] + 17)

    def searching() -> bool:
        # Whether the picker has its search box (more structures than it offers), asked once the picker is drawn:
        # right after the page settled the sidebar was sometimes not drawn yet, and the walk then looked for a
        # structure the picker did not offer.
        sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Structure").first.wait_for()
        return bool(sidebar.get_by_label("Rechercher une structure (code ou nom)").count())

    def narrow() -> None:
        # Before the search the sidebar says only the first 200 are offered; the filtered run takes that away. Under
        # load that run may begin after settled()'s half second: the next click would open a list about to change.
        search(page, other)
        sidebar.get_by_text("premières sont proposées").wait_for(state="hidden")

    def choose() -> None:
        # Its heading in the page, not the picker's own text: the new structure's page is drawn.
        sidebar_select(page, "Structure", other)
        page.locator('[data-testid="stMain"] h3').filter(has_text=f"{other} –").first.wait_for()

    steps = [
        ("ouvrir Mon service", lambda: timed(page, lambda: page.goto(url), "ouvrir Mon service", LEVEL_BANNER)),
        ("chercher une structure", lambda: timed(page, narrow, "chercher une structure") if searching() else None),
        ("changer de structure", lambda: timed(page, choose, "changer de structure")),
        ("changer de fenêtre (Année)", lambda: timed(
            page, page.get_by_test_id("stRadioGroup").get_by_text("Année", exact=True).click,
            "changer de fenêtre (Année)")),
        ("ouvrir Comparaison", lambda: timed(page, page.get_by_role("link", name="Comparaison", exact=True).click,
                                             "ouvrir Comparaison", "Répartition des niveaux")),
        ("trier le classement", lambda: timed(page, sort_ranking, "trier le classement")),
        (DOWNLOAD, lambda: download_excel(page)),
        ("revenir à Mon service", lambda: timed(page, page.get_by_role("link", name="Mon service", exact=True).click,
                                                "revenir à Mon service", LEVEL_BANNER)),
    ]
    for name, step in steps:
        try:
            seconds = step()
        except BaseException as error:  # settled() gives up with SystemExit; Playwright raises its TimeoutError
            waited = [line.strip() for line in str(error).splitlines() if line.strip()][:3]
            session.errors.append(f"session {session.index}, « {name} » : {type(error).__name__}: "
                                  + " / ".join(waited)[:400])
            page.screenshot(path=str(session.screenshot), full_page=True)
            box = sidebar.get_by_label("Rechercher une structure (code ou nom)")
            if box.count():
                session.errors.append(f"session {session.index} : la recherche contient alors "
                                      f"« {box.input_value(timeout=5000)} »")
            return
        if seconds is not None:
            session.times[name] = seconds
        session.errors += [f"session {session.index}, après « {name} » : {shown}" for shown in failures_shown(page)]
        session.waits += [f"session {session.index}, après « {name} » : {text[:60]}…"
                          for text in page.locator(NOTICES).all_inner_texts() if text.strip().startswith(WAITING)]


def run_session(session: Session, url: str, ready: threading.Barrier, stagger_s: float) -> None:
    """Every browser is launched before anyone clicks (``ready``); then each starts after its share of the stagger
    and says so (``session.began``, also set if it never gets there, so that nobody waits for it)."""
    try:
        with chromium() as browser:
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
            context.set_default_timeout(CLICK_TIMEOUT_MS)
            page = context.new_page()
            ready.wait()
            time.sleep(stagger_s * session.index / max(1, ready.parties - 1))
            session.began.set()
            walk(page, url, session)
            context.close()
    except BaseException as error:
        session.errors.append(f"session {session.index} : {type(error).__name__}: {error}")
        ready.abort()
    finally:
        session.began.set()


def warm_up(url: str) -> None:
    """One visit of Mon service, not counted: the server's first run imports the pages' modules and assesses the
    default window; the people measured come to a server that is already running."""
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
        page = context.new_page()
        timed(page, lambda: page.goto(url), "mise en route (non comptée)", LEVEL_BANNER)
        context.close()


def start_logged_server(base: Path, log_path: Path) -> tuple[subprocess.Popen, int]:
    """tests.helpers.start_server's command, with the server's output kept in ``log_path``: a page that shows
    Streamlit's « This app has encountered an error » only says why there."""
    port = free_port()
    env = {**os.environ, "INDICATEURS_DB": str(base), "PYTHONPATH": str(PROJECT)}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(PROJECT / "app.py"),
                                    "--server.port", str(port), *HEADLESS],
                                   cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, port


def run_batch(csv_path: Path, base: Path, result: dict) -> None:
    """``python3 -m indicators import`` to completion: exit code, wall and processor time, peak memory, output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "indicators", "import", str(csv_path), "--db", str(base)],
                                 cwd=PROJECT, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result.update(exit=child.returncode, seconds=time.perf_counter() - start,
                      cpu_s=usage.ru_utime + usage.ru_stime, peak_mib=usage.ru_maxrss / 1024,
                      stderr=err.read().decode(errors="replace").strip()[-600:],
                      stdout=out.read().decode(errors="replace").strip()[-300:])


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(source: Path, n: int, batch_rows: int, structures: list[str], stagger_s: float) -> dict:
    """N sessions and the batch against a server on a fresh copy of ``source``."""
    base = OUT / f"sessions_{source.stem}_n{n}.duckdb"
    for leftover in (base, Path(f"{base}.wal")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(source, base)
    csv_path = OUT / f"sessions_batch_{source.stem}.csv"
    rows = write_batch(csv_path, base, batch_rows)
    load_before = os.getloadavg()[0]
    log_path = OUT / f"sessions_serveur_{source.stem}_n{n}.log"
    process, port = start_logged_server(base, log_path)
    watcher = Watcher(process.pid)
    sessions = [Session(i, structures[i % len(structures)], OUT / f"sessions_erreur_n{n}_{i}.png") for i in range(n)]
    ready = threading.Barrier(n)
    threads = [threading.Thread(target=run_session, args=(s, f"http://127.0.0.1:{port}", ready, stagger_s))
               for s in sessions]
    batch: dict = {"rows": rows}
    try:
        warm_up(wait_healthy(process, port))
        watcher.start()
        began, server_cpu, machine_cpu = time.perf_counter(), cpu_seconds(process.pid), machine_busy_seconds()
        for thread in threads:
            thread.start()
        for session in sessions:  # every session has begun its walk (the last one after its stagger)
            session.began.wait()
        batch_thread = threading.Thread(target=run_batch, args=(csv_path, base, batch))
        batch_thread.start()
        for thread in threads:
            thread.join()
        batch_thread.join()
        server_cpu, machine_cpu = cpu_seconds(process.pid) - server_cpu, machine_busy_seconds() - machine_cpu
    finally:
        hwm_kib = status_kib(process.pid, "VmHWM")
        watcher.stop.set()
        if watcher.is_alive():
            watcher.join()
        stop_server(process)
    clicks = [(name, s) for session in sessions for name, s in session.times.items()]
    kinds: dict[str, list[float]] = {}
    for name, seconds in clicks:
        kinds.setdefault(name, []).append(seconds)
    every = [s for _, s in clicks]
    return {
        "date": datetime.now().isoformat(timespec="minutes"), "n": n, "base": source.name,
        "wall_s": time.perf_counter() - began, "clicks": len(every),
        "server_cpu_s": server_cpu, "machine_cpu_s": machine_cpu, "client_cpu_s": watcher.client_seconds(),
        "median_s": statistics.median(every) if every else None,
        "p95_s": nearest_rank(every, 0.95) if every else None,
        "kinds": {name: {"median_s": statistics.median(v), "p95_s": nearest_rank(v, 0.95), "count": len(v)}
                  for name, v in kinds.items()},
        "server_peak_rss_mib": watcher.peak_rss_kib / 1024, "server_vmhwm_mib": hwm_kib / 1024,
        "load_before": load_before, "load_peak": watcher.peak_load, "cores": os.cpu_count(),
        "min_available_mib": watcher.min_available_mib,
        "errors": [e for s in sessions for e in s.errors], "waits": [w for s in sessions for w in s.waits],
        "batch": batch, "server_log": str(log_path),
    }


def seconds_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def batch_words(batch: dict) -> str:
    """The command-line batch import of one N, as the report prints it."""
    if "exit" not in batch:
        return "non lancé"
    return (f"code {batch['exit']} en {batch['seconds']:.1f} s ({batch['rows']:,} lignes, processeur "
            f"{batch['cpu_s']:.1f} s, {batch['peak_mib']:.0f} Mio)")


def report(results: list[dict], structures: int) -> None:
    baseline = next((r for r in results if r["n"] == 1 and r["p95_s"]), None)
    print(f"\n{structures:,} structures, clic → page stabilisée, toutes les sessions ensemble "
          f"(p95 au rang le plus proche), {os.cpu_count()} cœurs partagés par les navigateurs et le serveur")
    print(f"  {'N':>3} {'clics':>6} {'médiane':>9} {'p95':>9} {'p95/p95(1)':>11} {'RSS serveur':>12} "
          f"{'VmHWM':>8} {'charge':>11} {'mém. libre min':>15} {'erreurs':>8}  import en lot")
    for r in results:
        ratio = f"{r['p95_s'] / baseline['p95_s']:.2f}×" if baseline and r["p95_s"] else "–"
        landed = batch_words(r["batch"])
        print(f"  {r['n']:>3} {r['clicks']:>6} {seconds_text(r['median_s']):>9} {seconds_text(r['p95_s']):>9} "
              f"{ratio:>11} {r['server_peak_rss_mib']:>8.0f} Mio {r['server_vmhwm_mib']:>4.0f} Mio "
              f"{r['load_before']:>4.1f} → {r['load_peak']:>4.1f} {r['min_available_mib']:>11,} Mio "
              f"{len(r['errors']):>8}  {landed}")
    for r in results:
        print(f"\n  N = {r['n']} : {r['wall_s']:.0f} s ; processeur de toute la machine {r['machine_cpu_s']:.0f} s "
              f"(sur {r['wall_s'] * r['cores']:.0f} s possibles), dont serveur {r['server_cpu_s']:.0f} s, "
              + ", ".join(f"{kind} {seconds:.0f} s" for kind, seconds in r["client_cpu_s"].items())
              + f", import en lot {r['batch'].get('cpu_s', 0):.0f} s ; le reste : ce processus, autres programmes")
        print("    par clic, médiane / p95 (nombre)")
        for name, k in r["kinds"].items():
            print(f"    {name:<32} {seconds_text(k['median_s']):>9} {seconds_text(k['p95_s']):>9} ({k['count']})")
        for wait in r["waits"]:
            print(f"    attente montrée : {wait}")
        for error in r["errors"]:
            print(f"    ERREUR {error}")
        if r["errors"]:
            print(f"    journal du serveur : {r['server_log']}")
        if r["batch"].get("exit"):
            print(f"    import en lot, sortie d'erreur : {r['batch']['stderr']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--sessions", default="1,5,20,50", help="les N à mesurer, séparés par des virgules")
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--stagger", type=float, default=2.0, help="secondes sur lesquelles les arrivées s'étalent")
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",")]
    source, structures = demo_base(args.structures, max(counts))
    results = []
    for n in counts:
        needed = n * CLIENT_MiB_PER_SESSION
        if available_mib() < needed + 4096:
            print(f"N = {n} sauté : {available_mib():,} Mio libres, il en faut environ {needed + 4096:,}")
            continue
        print(f"N = {n} : {n} session(s), import en lot de {args.batch_rows:,} lignes", flush=True)
        result = measure(source, n, args.batch_rows, structures, args.stagger)
        results.append(result)
        with (OUT / "sessions.jsonl").open("a", encoding="utf-8") as log:
            log.write(json.dumps({**result, "structures": args.structures}, ensure_ascii=False) + "\n")
    report(results, args.structures)


if __name__ == "__main__":
    main()
