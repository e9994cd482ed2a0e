"""Clicks as a person makes them, run by hand: ``python3 -m bench.bench_clicks [--structures 15000] [--repeat 3]``.

``streamlit run`` serves the demo base of ``--structures`` structures (built once in ``bench/out/app_<n>.duckdb``);
Debian's Chromium (Playwright) makes a director's walk: open Mon service, change structure, change the window to
« Année », open Comparaison, sort the ranking, drill down to a structure (« Ouvrir »). Each click is timed from
the click to the page settled: no running indicator and no stale element for 150 ms (the time of that last look
is not counted). The first walk after the server starts is **cold** (empty caches); the same walk again is
**warm**. Baselines, in the same run: a click that opens a page with no computation (Import), and the same page loaded
by its address (the floor of « ouvrir Mon service », a new page load): Streamlit's and the browser's own cost. Prints the median of ``--repeat`` servers for each click; targets: warm ≤ 1 s,
cold ≤ 3 s."""

from __future__ import annotations

import argparse
import statistics
import time

from bench.bench_app import demo_base  # the same demo base as the pages' benchmark (bench/out/app_<n>.duckdb)
from tests.helpers import chromium, served

BUSY = """() => [...document.querySelectorAll('[data-testid="stStatusWidget"], [data-stale="true"]')].length"""
CALM_LOOKS, LOOK_S = 3, 0.05


def settled(page, started: float) -> float:
    """Seconds from ``started`` to the page settled: the run begins (or 0.5 s pass), then the first look of
    CALM_LOOKS calm looks in a row."""
    deadline = time.perf_counter() + 0.5
    while not page.evaluate(BUSY) and time.perf_counter() < deadline:
        time.sleep(0.01)
    calm_since, calm = None, 0
    give_up = time.perf_counter() + 120
    while calm < CALM_LOOKS:
        if time.perf_counter() > give_up:
            raise SystemExit(f"la page ne s'est pas stabilisée en 120 s : {page.url}")
        if page.evaluate(BUSY):
            calm_since, calm = None, 0
        else:
            calm_since = calm_since or time.perf_counter()
            calm += 1
        time.sleep(LOOK_S)
    return calm_since - started


def timed(page, action, name: str = "", ready: str | None = None) -> float:
    """Click to settled; ``ready``: a text the new page shows, waited for first (a new page's run may begin after
    the look for a running indicator)."""
    started = time.perf_counter()
    action()
    if ready:
        page.get_by_text(ready).first.wait_for(timeout=120_000)
    seconds = settled(page, started)
    print(f"    {name} {seconds:.2f} s", flush=True)
    return seconds


def search(page, text: str) -> None:
    """Above 200 structures the picker is narrowed by a search box first (a person's own step)."""
    box = page.locator('[data-testid="stSidebar"]').get_by_label("Rechercher une structure (code ou nom)")
    box.fill(text)
    box.press("Enter")


def sidebar_select(page, label: str, option: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    picker = sidebar.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    picker.locator("input").click()
    page.get_by_role("option", name=option).first.click()


def walk(page, url: str, other: str) -> dict[str, float]:
    """One director's walk; seconds per click."""
    times = {}
    times["ouvrir Mon service (adresse)"] = timed(page, lambda: page.goto(url), "ouvrir Mon service (adresse)",
                                                  "Niveau atteignable")
    if page.locator('[data-testid="stSidebar"]').get_by_label("Rechercher une structure (code ou nom)").count():
        times["chercher une structure"] = timed(page, lambda: search(page, other), "chercher une structure")
    times["changer de structure"] = timed(page, lambda: sidebar_select(page, "Structure", other),
                                          "changer de structure")
    page.get_by_text(other).first.wait_for(timeout=120_000)
    year = page.get_by_test_id("stRadioGroup").get_by_text("Année", exact=True)
    times["changer de fenêtre (Année)"] = timed(page, year.click, "changer de fenêtre (Année)")
    times["ouvrir Comparaison"] = timed(page, page.get_by_role("link", name="Comparaison", exact=True).click,
                                        "ouvrir Comparaison", "Répartition des niveaux")
    grid = page.locator('[data-testid="stDataFrame"]:visible').first
    grid.scroll_into_view_if_needed()
    box = grid.locator("canvas").first.bounding_box()
    times["trier le classement"] = timed(page, lambda: page.mouse.click(box["x"] + 25, box["y"] + 17),
                                         "trier le classement")
    opener = page.get_by_role("button", name="Ouvrir")
    times["ouvrir une structure (Ouvrir)"] = timed(page, opener.first.click, "ouvrir une structure (Ouvrir)",
                                                   "Niveau atteignable")
    reference = "référence : ouvrir la page Import (sans calcul)"
    times[reference] = timed(page, page.get_by_role("link", name="Import", exact=True).click, reference,
                             "Fichiers à importer")
    times["ouvrir Mon service (menu)"] = timed(page, page.get_by_role("link", name="Mon service", exact=True).click,
                                               "ouvrir Mon service (menu)", "Niveau atteignable")
    # The like-for-like floor of « ouvrir Mon service », which loads a new page (its HTML, Streamlit's scripts, a
    # new websocket and session): the same new page load of a page that computes nothing.
    loaded = "référence : charger la page Import par son adresse (sans calcul)"
    times[loaded] = timed(page, lambda: page.goto(f"{url}/import_fichiers"), loaded, "Fichiers à importer")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path, (other,) = demo_base(args.structures, 1)
    runs: dict[str, dict[str, list[float]]] = {"froid": {}, "chaud": {}}
    with chromium() as browser:
        for _ in range(args.repeat):
            with served(path) as url:
                context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
                page = context.new_page()
                for state in ("froid", "chaud"):
                    for name, seconds in walk(page, url, other).items():
                        runs[state].setdefault(name, []).append(seconds)
                context.close()
    print(f"{args.structures:,} structures, Chromium 1440 px, médiane de {args.repeat} serveurs "
          "(clic → page stabilisée)")
    print(f"  {'clic':<45} {'froid':>8} {'chaud':>8}   cibles : chaud ≤ 1 s, froid ≤ 3 s")
    for name in runs["froid"]:
        cold, warm = statistics.median(runs["froid"][name]), statistics.median(runs["chaud"][name])
        verdict = "ok" if warm <= 1 and cold <= 3 else "TROP LENT"
        print(f"  {name:<45} {cold:7.2f}s {warm:7.2f}s   {verdict}")


if __name__ == "__main__":
    main()
