"""Issue 9's speed figures (sign-in and scope), run by hand: ``python3 -m bench.bench_rights [--structures 15000]
[--repeat 5] [--rounds 5] [--warm-visits 2] [--before /tmp/before9] [--only commands|pages]``.

1. ``commands``: ``status --period 2024`` (JSON to a file, and the table) as whole processes, on the base of
   bench_commands' build (15,000 structures × 4 indicators × 12 months, made by this tree), run by this tree
   (after) and by a copy of the tree before the rights (``--before``, made by
   ``git archive d374e99 | tar -x -C /tmp/before9``), alternated round by round beside bench_commands' floor.
   The two trees' outputs are compared byte for byte first. Wall time (medians, and the median of each round's
   ratio) and processor time. Target: after / before ≤ 1.10 (the command line is an administrator).
2. ``pages``: Comparaison in the real server with sign-in (a real OpenID Connect provider, the redirect flow in
   Debian's Chromium) on 15,000 demo structures, as a director of one CAF (peers anonymised), the head of the CAF
   network and an administrator. Each round starts a fresh server (caches empty) for each person, already
   signed in (the cookie secret and the port are kept across servers), opens Référentiel (no assessment), then
   times clicks on the sidebar's links: Comparaison (cold), then Mon service and Comparaison again (warm),
   ``--warm-visits`` times. A click is settled when the page's title shows, Streamlit's « running » icon is gone,
   no element is stale and neither a WebSocket frame nor a change of the page (header aside) has come for
   ``QUIET_MS``. Two times per click, in the browser's clock from the click: the last frame received (the
   server has sent everything) and the last change of the page (drawn). Target: warm / cold ≤ 0.2."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import bench_app, bench_commands
from indicators import db, grants, rights

PROJECT = bench_commands.PROJECT
OUT = bench_commands.OUT
# tests/oidc.py imports its neighbour as « helpers », pytest having put tests/ on the path: so does this script.
sys.path.insert(0, str(PROJECT / "tests"))
from helpers import chromium, free_port, new_page, start_server, stop_server, wait_healthy
from oidc import auth_options, provider, secrets_file, sign_in

BEFORE_COMMIT = "d374e99"
COMMAND_TARGET = 1.10
WARM_TARGET = 0.2

# Three people as ProConnect describes them, each granted by e-mail before the first sign-in.
DIRECTOR_STRUCTURE, NETWORK = "CAF-0001", "CAF"
PEOPLE = {
    "directeur": ({"sub": "bench-directeur", "email": "directeur@caf-0001.fr", "given_name": "Dominique",
                   "usual_name": "Directeur"}, {"role": rights.DIRECTOR, "structures": DIRECTOR_STRUCTURE}),
    "tête de réseau": ({"sub": "bench-tete", "email": "tete@caf.fr", "given_name": "Camille",
                        "usual_name": "Réseau"}, {"role": rights.NETWORK_HEAD, "networks": NETWORK}),
    "administrateur": ({"sub": "bench-admin", "email": "admin@modernisation.gouv.fr", "given_name": "Alex",
                        "usual_name": "Admin"}, {"role": rights.ADMIN}),
}
PEERS_HEADING = "parmi leurs pairs"

# Nothing new for this long after the last frame or change of the page: the click is settled.
QUIET_MS = 1500
SETTLE_TIMEOUT_S = 300

# Runs in every document before Streamlit's own scripts: times, in the browser's clock, the last click, every
# WebSocket frame received and every change of the page outside the header (where the « running » icon turns).
PROBE = """
(() => {
  const bench = window.__bench = {frames: 0, framesAtClick: 0, lastFrame: 0, lastChange: 0, click: 0};
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => { bench.frames += 1; bench.lastFrame = performance.now(); });
    }
  };
  document.addEventListener("click", () => {
    bench.click = performance.now();
    bench.framesAtClick = bench.frames;
  }, true);
  const header = '[data-testid="stHeader"], [data-testid="stStatusWidget"]';
  const counts = record => {
    const element = record.target.nodeType === 1 ? record.target : record.target.parentElement;
    return !(element && element.closest(header));
  };
  new MutationObserver(records => {
    if (records.some(counts)) bench.lastChange = performance.now();
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""

STATE = """
title => {
  const shown = [...document.querySelectorAll("h1")].some(h => h.textContent.trim() === title);
  return {...window.__bench, now: performance.now(), shown,
          running: !!document.querySelector('[data-testid="stStatusWidgetRunningIcon"]'),
          stale: !!document.querySelector('[data-stale="true"]')};
}
"""


def median_text(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (essais {', '.join(f'{v:.2f}' for v in values)})"


def load_text(start: float) -> str:
    return f"charge {start:.1f} → {os.getloadavg()[0]:.1f} ({os.cpu_count()} cœurs)"


# Part 1: the command line, before and after the rights.

def status_commands(path: Path) -> dict[str, tuple[list[str], Path]]:
    """``status`` as a person scripts it: name → (argv, the file its output goes to, one per tree)."""
    argv = [sys.executable, "-m", "indicators", "status", "--db", str(path), "--period", "2024"]
    return {"status json": (argv + ["--format", "json"], OUT / "rights_status_{tree}.json"),
            "status table": (argv + ["--format", "table"], OUT / "rights_status_{tree}.txt")}


def same_outputs(commands: dict, trees: dict[str, Path]) -> None:
    """Both trees print the same bytes from the same base (which also proves the old tree reads it)."""
    for name, (argv, output) in commands.items():
        files = {tree: Path(str(output).format(tree=tree)) for tree in trees}
        for tree, folder in trees.items():
            bench_commands.run_once(argv, files[tree], folder)
        before, after = (files[tree].read_bytes() for tree in trees)
        if before != after:
            raise SystemExit(f"{name} : les deux arbres n'écrivent pas la même chose "
                             f"({', '.join(map(str, files.values()))})")
        print(f"  {name} : sorties identiques avant et après ({len(after):,} octets)")


def timed(argv: list[str], stdout: Path | None = None, cwd: Path = PROJECT) -> tuple[float, float]:
    """Wall seconds and processor seconds (user + system, every thread) of one whole command. The processor
    time moves less than the wall time when other work shares the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = bench_commands.run_once(argv, stdout, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_commands(structures: int, repeat: int, before: Path) -> None:
    if not (before / "indicators").is_dir():
        raise SystemExit(f"{before} ne contient pas l'arbre d'avant : git -C {PROJECT} archive {BEFORE_COMMIT} "
                         f"| tar -x -C {before}")
    load_start = os.getloadavg()[0]
    path = OUT / f"rights_commands_{structures}.duckdb"
    if not path.exists():
        bench_commands.build(path, structures)  # by this tree: the old one must read a base the new one made
    trees = {"avant": before.resolve(), "après": PROJECT}
    commands = status_commands(path)
    print(f"1. status, commande entière : {structures:,} structures × {len(bench_commands.INDICATORS)} "
          f"indicateurs × 12 mois, base {path.relative_to(PROJECT)}, avant = {trees['avant']} ({BEFORE_COMMIT})")
    same_outputs(commands, trees)  # also warms the file cache
    floor_argv = [sys.executable, "-c", bench_commands.FLOOR, str(path)]
    floors, runs = [], {(name, tree): [] for name in commands for tree in trees}
    cpu = {key: [] for key in runs}
    for round_ in range(repeat):
        floors.append(bench_commands.run_once(floor_argv))
        # The order alternates from round to round, so that neither tree always runs first after the floor.
        order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
        for name, (argv, output) in commands.items():
            for tree in order:
                wall, processor = timed(argv, Path(str(output).format(tree=tree)), trees[tree])
                runs[name, tree].append(wall)
                cpu[name, tree].append(processor)
    floor = statistics.median(floors)
    print(f"  plancher de bench_commands (python + duckdb + pandas, GROUP BY) : {median_text(floors)}")
    for name in commands:
        before_s, after_s = (statistics.median(runs[name, tree]) for tree in trees)
        ratio = after_s / before_s
        # The two trees of one round ran a few seconds apart, under the same load: their ratio moves less.
        paired = statistics.median(a / b for a, b in zip(runs[name, "après"], runs[name, "avant"]))
        verdict = "ok" if ratio <= COMMAND_TARGET else "AU-DESSUS DE LA CIBLE"
        pad = " " * len(name)
        print(f"  {name} : avant {median_text(runs[name, 'avant'])} = {before_s / floor:.2f}× le plancher")
        print(f"  {pad}   après {median_text(runs[name, 'après'])} = {after_s / floor:.2f}× le plancher")
        print(f"  {pad}   après / avant = {ratio:.3f} (cible ≤ {COMMAND_TARGET:.2f})  {verdict} ; médiane des "
              f"rapports de chaque tour {paired:.3f}")
        cpu_before, cpu_after = (statistics.median(cpu[name, tree]) for tree in trees)
        print(f"  {pad}   temps processeur (utilisateur + système) : avant {cpu_before:.2f} s, après "
              f"{cpu_after:.2f} s, après / avant = {cpu_after / cpu_before:.3f}")
    print(f"  médianes de {repeat} tours ; {load_text(load_start)}")


# Part 2: Comparaison in the real server, signed in.

def app_base(structures: int) -> Path:
    """The demo programme (bench_app's build, through the importer) with the three grants, built once."""
    path = OUT / f"rights_app_{structures}.duckdb"
    if path.exists():
        return path
    staging = OUT / f"rights_app_{structures}.staging.duckdb"
    for leftover in (staging, Path(f"{staging}.wal")):
        leftover.unlink(missing_ok=True)
    built = bench_app.build(staging, structures)
    con = db.connect(staging)
    for claims, grant in PEOPLE.values():
        grants.grant(con, rights.COMMAND_LINE, email=claims["email"], **grant)
    con.execute("CHECKPOINT")
    db.close(staging)
    staging.rename(path)
    print(f"  base {path.relative_to(PROJECT)} construite en {built:.0f} s")
    return path


@dataclass(frozen=True)
class Click:
    """Seconds from a click to the last WebSocket frame (the server has sent everything) and to the page settled
    (drawn: the browser has placed everything)."""

    sent: float
    drawn: float


def settle(page, title: str) -> Click:
    """Waits until the page is settled (see the module's docstring) after the last click."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        state = page.evaluate(STATE, title)
        last = max(state["lastFrame"], state["lastChange"])
        started = state["frames"] > state["framesAtClick"]
        if state["shown"] and started and not state["running"] and not state["stale"] \
                and state["now"] - last >= QUIET_MS:
            return Click((state["lastFrame"] - state["click"]) / 1000, (last - state["click"]) / 1000)
        page.wait_for_timeout(50)
    raise SystemExit(f"« {title} » ne s'est pas stabilisée en {SETTLE_TIMEOUT_S} s")


def click_page(page, title: str) -> Click:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).first.click()
    return settle(page, title)


def one_visit(page, url: str, warm_visits: int) -> dict[str, list[Click]]:
    """On a fresh server: Référentiel opened, then Comparaison (cold), then Mon service and Comparaison again
    (warm), ``warm_visits`` times."""
    page.goto(url + "/referentiel")
    settle(page, "Référentiel")
    visit = {"cold": [click_page(page, "Comparaison")], "mon service": [], "warm": []}
    for _ in range(warm_visits):
        visit["mon service"].append(click_page(page, "Mon service"))
        visit["warm"].append(click_page(page, "Comparaison"))
    return visit


def fresh_server(path: Path, secrets: Path, port: int) -> tuple[subprocess.Popen, str]:
    """A new server process on ``port``: Streamlit's sign-in cookie holds the origin of the server that set it
    (port included), so every server of the run listens on the same port to keep the browsers signed in. The
    port given last to ``streamlit run`` wins over the one start_server picks."""
    options = (*auth_options(secrets), "--server.address", "127.0.0.1", "--server.port", str(port))
    process, _ = start_server(path, options=options)
    return process, wait_healthy(process, port)


def signed_in_pages(browser, url: str) -> dict:
    """A page of its own per person, with the probe, signed in through the provider's form."""
    pages = {}
    for who, (claims, _) in PEOPLE.items():
        pages[who] = new_page(browser)
        pages[who].add_init_script(PROBE)
        sign_in(pages[who], url, claims["sub"])
        settle(pages[who], "Mon service")
    return pages


def clicks_text(clicks: list[Click], field: str) -> str:
    return median_text([getattr(click, field) for click in clicks])


def report_pages(results: dict, peers_shown: dict) -> None:
    for who, r in results.items():
        pad = " " * len(who)
        print(f"  {who} : section des pairs {'affichée' if all(peers_shown[who]) else 'absente'}")
        for field, words in (("drawn", "page dessinée"), ("sent", "dernière trame reçue")):
            cold = statistics.median(getattr(click, field) for click in r["cold"])
            warm = statistics.median(getattr(click, field) for click in r["warm"])
            ratio = warm / cold
            verdict = "ok" if ratio <= WARM_TARGET else "AU-DESSUS DE LA CIBLE"
            print(f"  {pad}   {words} : Comparaison à froid {clicks_text(r['cold'], field)}")
            print(f"  {pad}   {' ' * len(words)}   à chaud {clicks_text(r['warm'], field)}")
            print(f"  {pad}   {' ' * len(words)}   à chaud / à froid = {ratio:.3f} (cible ≤ {WARM_TARGET})"
                  f"  {verdict}")
        print(f"  {pad}   Mon service entre les deux (dessinée) {clicks_text(r['mon service'], 'drawn')}")


def time_pages(structures: int, rounds: int, warm_visits: int) -> None:
    load_start = os.getloadavg()[0]
    path = app_base(structures)
    db.close_all()  # the server opens the base itself
    commit = subprocess.run(["git", "-C", str(PROJECT), "log", "-1", "--format=%h %s"], capture_output=True,
                            text=True, check=True).stdout.strip()[:90]
    print(f"2. Comparaison dans le serveur, connecté ({structures:,} structures, base "
          f"{path.relative_to(PROJECT)}), arbre {commit}")
    results = {who: {"cold": [], "mon service": [], "warm": []} for who in PEOPLE}
    peers_shown = {who: [] for who in PEOPLE}
    with provider([claims for claims, _ in PEOPLE.values()]) as provider_url, chromium() as browser, \
            tempfile.TemporaryDirectory() as folder:
        # One cookie secret and one port for every server: the browsers stay signed in from one to the next.
        port = free_port()
        secrets = secrets_file(Path(folder), provider_url, port)
        process, url = fresh_server(path, secrets, port)
        try:
            pages = signed_in_pages(browser, url)
        finally:
            stop_server(process)
        for round_ in range(rounds):
            people = list(PEOPLE)[round_ % len(PEOPLE):] + list(PEOPLE)[:round_ % len(PEOPLE)]
            for who in people:
                # A server of its own for each person's visit: the cold click finds every cache empty.
                process, url = fresh_server(path, secrets, port)
                try:
                    visit = one_visit(pages[who], url, warm_visits)
                    peers_shown[who].append(pages[who].get_by_text(PEERS_HEADING).count() > 0)
                finally:
                    stop_server(process)
                for kind, clicks in visit.items():
                    results[who][kind] += clicks
    report_pages(results, peers_shown)
    print(f"  {rounds} tours, un serveur neuf par personne et par tour, {warm_visits} visites à chaud par tour ; "
          f"{load_text(load_start)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=5, help="tours des commandes (médianes)")
    parser.add_argument("--rounds", type=int, default=5, help="tours des pages, un serveur neuf par personne")
    parser.add_argument("--warm-visits", type=int, default=2, help="visites à chaud par tour")
    parser.add_argument("--before", type=Path, default=Path("/tmp/before9"), help="l'arbre d'avant les droits")
    parser.add_argument("--only", choices=("commands", "pages"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.only != "pages":
        time_commands(args.structures, args.repeat, args.before)
    if args.only != "commands":
        time_pages(args.structures, args.rounds, args.warm_visits)


if __name__ == "__main__":
    main()
