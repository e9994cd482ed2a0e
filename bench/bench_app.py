"""Dashboard benchmark, run by hand: ``python bench/bench_app.py [--structures 15000] [--repeat 3]``.

The pages « Comparaison » and « Mon service » through Streamlit's AppTest on 15,000 demo structures
(``indicators.demo.load_demo``, built once in ``bench/out/app_<n>.duckdb``, then reused). Prints, each the
median of ``--repeat`` runs in the same process on the same file:
- baselines: an AppTest run of a one-line page (AppTest's own cost) and one ``compliance.assess`` of the
  default window (the work the caches save);
- cold: a fresh AppTest with ``st.cache_data`` and ``st.cache_resource`` cleared, then ``switch_page`` and
  ``run``; warm: a second ``run`` of the same AppTest; the ratio warm / cold (target ≤ 0.2);
- what each page sends to the browser on its first display: the serialized ``ForwardMsg`` the script runner
  hands to AppTest, with ``st.dataframe(lazy=True)`` sent lazily as by ``streamlit run`` (AppTest alone sends
  every table whole: that is the baseline); the Comparaison target is under 2 MiB. Then how the ranking
  table is sent and the biggest elements, named by the page's heading and their tab or expander."""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

import pyarrow as pa  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit import config, logger  # noqa: E402
from streamlit.dataframe import lazy_df_source  # noqa: E402
from streamlit.runtime.state.common import user_key_from_element_id  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from streamlit.testing.v1 import local_script_runner  # noqa: E402

from indicators import compliance, db  # noqa: E402
from indicators.demo import load_demo  # noqa: E402

# Clearing the caches and building AppTests outside a script run log harmless « missing ScriptRunContext »
# warnings; errors still show (and a page's exception stops the benchmark, see check()). The config is parsed
# first, or its parsing would set the level back to « info ».
config.get_config_options()
logger.set_log_level("error")

OUT = PROJECT / "bench" / "out"
APP = str(PROJECT / "app.py")
PAGES = {"Comparaison": "pages/comparaison.py", "Mon service": "pages/mon_service.py"}
SIZE_TARGET = 2 * 1024 * 1024
MiB = 1024 * 1024

# What the script runner hands to AppTest after each run: the ForwardMsg queue, already composed the way the
# server composes it before sending (a spinner replaced by its content at the same place is one message).
_parse_tree = local_script_runner.parse_tree_from_messages
_last_messages: list = []


def _recording_parse(messages):
    _last_messages[:] = list(messages)
    return _parse_tree(messages)


local_script_runner.parse_tree_from_messages = _recording_parse


class _ServedConfig:
    """Streamlit's config as a served session reads it. AppTest keeps every st.dataframe eager, even
    ``lazy=True`` (so that ``Dataframe.value`` is whole); a browser gets lazy tables as a first block of rows
    and the rest on scroll. With this shim the AppTest runs build the same messages as the server."""

    def __getattr__(self, name):
        return getattr(config, name)

    @staticmethod
    def get_option(key: str):
        return False if key == "global.appTest" else config.get_option(key)


def served_dataframes(served: bool) -> None:
    """True: st.dataframe(lazy=True) goes lazy as under ``streamlit run``; False: AppTest's own (eager)."""
    lazy_df_source.config = _ServedConfig() if served else config


def build(path: Path, structures: int) -> float:
    """The demo data through the importer, into a temporary file renamed once complete."""
    start = time.perf_counter()
    partial = path.with_name(path.stem + ".partial.duckdb")
    for leftover in (partial, Path(f"{partial}.wal")):
        leftover.unlink(missing_ok=True)
    con = db.connect(partial)
    load_demo(con, structures, seed=42)
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


def cold(page: str, title: str) -> tuple[AppTest, float, list]:
    """Empty caches, fresh session: the first visit after an import (or a server start, imports aside)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page(page)
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    check(at, title)
    return at, elapsed, list(_last_messages)


def warm(at: AppTest, title: str) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    check(at, title)
    return elapsed


def tree_bytes(at: AppTest) -> int:
    """Cross-check: the element protos AppTest keeps in its tree (without the Delta/ForwardMsg wrappers)."""
    total, stack = 0, list(at._tree.children.values())
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
        elif getattr(node, "proto", None) is not None:
            total += node.proto.ByteSize()
    return total


def describe(element) -> str:
    """A name a reader recognises: the element's key, label or first words."""
    sub = getattr(element, element.WhichOneof("type"))
    element_id = getattr(sub, "id", "") if "id" in sub.DESCRIPTOR.fields_by_name else ""
    key = user_key_from_element_id(element_id) if element_id else None
    if key:
        return f"key={key}"
    for field in ("label", "body"):
        if field in sub.DESCRIPTOR.fields_by_name and getattr(sub, field):
            return f"« {getattr(sub, field).strip()[:40]} »"
    return ""


def arrow_shape(data: bytes) -> tuple[int | None, list[str]]:
    try:
        table = pa.ipc.open_stream(data).read_all()
    except Exception:  # noqa: BLE001 (a format we do not know: say nothing rather than fail)
        return None, []
    return table.num_rows, table.column_names


def payload(messages: list) -> dict:
    """Sizes of what the run sends: every ForwardMsg, the element deltas one by one (named by the page's
    heading and the tab or expander they sit in), the dataframes and how they are sent."""
    total = sum(m.ByteSize() for m in messages)
    containers: dict[tuple, str] = {}
    section = ""
    elements, frames = [], []
    for message in messages:
        if not message.HasField("delta"):
            continue
        path = tuple(message.metadata.delta_path)
        delta = message.delta
        if delta.WhichOneof("type") == "add_block":
            block = delta.add_block
            kind = block.WhichOneof("type")
            if kind in ("tab", "expandable"):
                containers[path] = getattr(block, kind).label[:40]
            continue
        if delta.WhichOneof("type") != "new_element":
            continue
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "markdown" and element.markdown.body.startswith("#") and path[0] == 0:
            section = element.markdown.body.lstrip("# ").strip()[:40]
        where = ["barre latérale"] if path[0] == 1 else [section] if section else []
        where += [containers[path[:i]] for i in range(1, len(path)) if path[:i] in containers]
        size = message.ByteSize()
        name = describe(element)
        if kind == "dataframe":
            frame = element.dataframe
            if frame.HasField("lazy_data"):
                lazy = frame.lazy_data
                sent, columns = arrow_shape(lazy.initial_chunk.data)
                rows = lazy.row_count if lazy.HasField("row_count") else None
                mode = "paresseux"
            else:
                sent, columns = arrow_shape(frame.arrow_data.data)
                rows, mode = sent, "complet"
            name = f"{name + ' ' if name else ''}{sent if sent is not None else '?'}"\
                   f"{'' if rows == sent else f'/{rows}'} lignes × {len(columns)} col., {mode}"
            frames.append({"where": " › ".join(where), "mode": mode, "sent": sent, "rows": rows,
                           "columns": columns, "size": size})
        elements.append((size, kind, name, " › ".join(where)))
    elements.sort(key=lambda e: -e[0])
    by_kind: dict[str, int] = {}
    for size, kind, _, _ in elements:
        by_kind[kind] = by_kind.get(kind, 0) + size
    return {"total": total, "messages": len(messages), "elements": elements, "frames": frames,
            "by_kind": sorted(by_kind.items(), key=lambda kv: -kv[1])}


def size_text(n: float) -> str:
    return f"{n / MiB:.2f} Mio" if n >= MiB / 10 else f"{n / 1024:.1f} Kio"


def ranking_of(p: dict) -> dict | None:
    """The ranking table: under the « Classement » heading, or the table with a « Rang » column."""
    return next((f for f in p["frames"] if "Classement" in f["where"]), None) \
        or next((f for f in p["frames"] if "Rang" in f["columns"]), None)


def runs_text(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--top", type=int, default=6, help="nombre de plus gros éléments affichés par page")
    args = parser.parse_args()
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
    t_assess = median_time(lambda: compliance.assess(con, window, today=today), args.repeat)

    def bare_page():
        AppTest.from_string("import streamlit as st\nst.title('Vide')", default_timeout=300).run()

    t_bare = median_time(bare_page, args.repeat)

    served_dataframes(True)
    # One visit of each page, not counted: the first cold run must not also pay the imports of plotly, the
    # pages' modules… (a server has them already after its first session).
    first = {title: cold(page, title)[1] for title, page in PAGES.items()}
    results = {}
    for title, page in PAGES.items():
        colds, warms = [], []
        for _ in range(args.repeat):
            gc.collect()
            at, t_cold, sent = cold(page, title)
            colds.append(t_cold)
            gc.collect()
            warms.append(warm(at, title))
        # Every run sends the same elements: the last cold run's messages stand for all.
        results[title] = {"cold": colds, "warm": warms, "payload": payload(sent), "tree": tree_bytes(at)}
        del at, sent
    # Baseline for the size: the same first visit with every table sent whole (AppTest's default).
    served_dataframes(False)
    eager = {title: payload(cold(page, title)[2]) for title, page in PAGES.items()}
    served_dataframes(True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

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
    for title, r in results.items():
        p, whole = r["payload"], eager[title]
        target = ""
        if title == "Comparaison":
            target = " (cible < 2 Mio" + (")" if p["total"] < SIZE_TARGET else ")  ← AU-DESSUS DE LA CIBLE")
        print(f"  {title} envoie {size_text(p['total'])} ({p['total']:,} octets) au premier affichage, "
              f"{p['messages']} messages{target}")
        print(f"    référence, tous les tableaux envoyés en entier (AppTest par défaut) : "
              f"{size_text(whole['total'])} ; éléments seuls dans l'arbre AppTest : {size_text(r['tree'])}")
        ranking = ranking_of(p)
        if ranking is not None:
            full = ranking_of(whole)
            if ranking["mode"] == "paresseux":
                print(f"    classement : st.dataframe(lazy=True), {ranking['sent']:,} lignes sur {ranking['rows']:,} "
                      f"dans le message initial ({size_text(ranking['size'])}), les suivantes par blocs au "
                      f"défilement ; envoyé en entier : {size_text(full['size']) if full else '?'}")
            else:
                print(f"    classement : envoyé en entier, {ranking['sent']:,} lignes ({size_text(ranking['size'])})")
        print("    par type : " + ", ".join(f"{kind} {size_text(size)}" for kind, size in p["by_kind"][:5]))
        print("    plus gros éléments :")
        for size, kind, name, where in p["elements"][:args.top]:
            print(f"      {size_text(size):>9}  {kind:<13} {name}  [{where}]")
    print(f"  pic mémoire du processus : {peak:.0f} Mio")


if __name__ == "__main__":
    main()
