"""Import benchmark, run by hand: ``python bench/bench_import.py [--rows 1000000] [--xlsx-rows 200000]``.

Prints each measure beside a baseline measured in the same run on the same data:
1. our import of a Windows-1252, decimal-comma canonical CSV vs DuckDB's raw ``read_csv`` of the same data
   in UTF-8 into a table (target ≤ 3×, peak memory ≤ 1 GiB);
2. our import of an .xlsx vs pandas + calamine reading the same file (target ≤ 1.5×);
3. re-import of an already imported file vs its first import (target ≤ 0.2×).
Each run is a fresh subprocess (its peak memory, max RSS, is its own); each measure is the median of
three runs."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
OUT = PROJECT / "bench" / "out"
HEADER = ("code_structure;nom_structure;reseau;code_indicateur;debut_periode;fin_periode;valeur;numerateur;"
          "denominateur;effectif")
INDICATORS = ["decroche", "satisfaction_globale", "delai_courriels", "delais_annonces"]


def make_rows(n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    # Row i is a unique (structure, month, indicator) for n up to 15 000 × 36 × 4.
    structures = np.arange(n) % 15_000
    months = np.arange(n) // 15_000 % 36
    indicator = np.arange(n) // (15_000 * 36) % len(INDICATORS)
    den = rng.integers(50, 5_000, n)
    num = (den * rng.uniform(0.6, 0.99, n)).astype(int)
    rows = []
    for s, m, i, d, k in zip(structures.tolist(), months.tolist(), indicator.tolist(), den.tolist(), num.tolist()):
        year, month = 2023 + m // 12, m % 12 + 1
        code = INDICATORS[i]
        value = f"{100 * k / d:.1f}".replace(".", ",")
        counts = f"{k};{d};" if code != "delai_courriels" else f";;{d}"
        if code == "delai_courriels":
            value = f"{(k % 70) / 10:.1f}".replace(".", ",")
        rows.append(f"S{s:05d};Accueil n°{s} – Œuvre sociale;Réseau {s % 7};{code};{year}-{month:02d}-01;"
                    f"{year}-{month:02d}-28;{value};{counts}")
    return rows


REPEAT = 3


def run_measure(code: str, before=lambda: None) -> dict:
    """Median of REPEAT runs (each after ``before``) of :func:`run_once`; peak memory is the largest seen."""
    runs = []
    for _ in range(REPEAT):
        before()
        runs.append(run_once(code))
    runs.sort(key=lambda r: r["seconds"])
    median = dict(runs[len(runs) // 2])
    median["peak_mib"] = max(r["peak_mib"] for r in runs)
    return median


def run_once(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints a JSON dict; add the child's peak RSS."""
    wrapper = textwrap.dedent("""
        import json, resource, sys, time
        result = {{}}
        {code}
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
    """).format(code=textwrap.indent(textwrap.dedent(code), "").strip().replace("\n", "\n"))
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True,
                         cwd=PROJECT)  # the child finds the package from the project folder
    return json.loads(out.stdout.strip().splitlines()[-1])


def csv_bench(rows: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cp1252, utf8 = OUT / f"long_{rows}_cp1252.csv", OUT / f"long_{rows}_utf8.csv"
    if not cp1252.exists():
        text = "\n".join([HEADER, *make_rows(rows)]) + "\n"
        cp1252.write_bytes(text.encode("cp1252"))
        utf8.write_bytes(text.encode("utf-8"))
    n = sum(1 for _ in open(utf8, encoding="utf-8")) - 1

    def fresh_databases():
        for db_file in OUT.glob("bench_*.duckdb*"):
            db_file.unlink()

    baseline = run_measure(f"""
        import duckdb
        con = duckdb.connect({str(OUT / 'bench_raw.duckdb')!r})
        t = time.perf_counter()
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, delim=';', header=true, decimal_separator=',')",
                    [{str(utf8)!r}])
        con.execute("CHECKPOINT")
        result["seconds"] = time.perf_counter() - t
        result["rows"] = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    """, fresh_databases)
    ours = run_measure(f"""
        from pathlib import Path
        from indicators import db, importer, rights
        con = db.connect({str(OUT / 'bench_ours.duckdb')!r})
        t = time.perf_counter()
        report = importer.import_path(con, Path({str(cp1252)!r}), rights.COMMAND_LINE)
        con.execute("CHECKPOINT")
        result["seconds"] = time.perf_counter() - t
        result["rows"] = report.rows_added
        result["outcome"] = report.outcome
        t = time.perf_counter()
        again = importer.import_path(con, Path({str(cp1252)!r}), rights.COMMAND_LINE)
        result["reimport_seconds"] = time.perf_counter() - t
        result["reimport_outcome"] = again.outcome
    """, fresh_databases)
    print(f"CSV {n:,} lignes (Windows-1252, virgule décimale)")
    print(f"  référence DuckDB read_csv UTF-8 → table : {baseline['seconds']:.2f} s, "
          f"pic {baseline['peak_mib']:.0f} Mio, {baseline['rows']:,} lignes")
    print(f"  notre import complet                  : {ours['seconds']:.2f} s, pic {ours['peak_mib']:.0f} Mio, "
          f"{ours['rows']:,} lignes ({ours['outcome']})")
    print(f"  rapport import / read_csv             : {ours['seconds'] / baseline['seconds']:.2f}× (cible ≤ 3×)")
    print(f"  ré-import du même fichier             : {ours['reimport_seconds']:.3f} s ({ours['reimport_outcome']}), "
          f"{ours['reimport_seconds'] / ours['seconds']:.3f}× le premier import (cible ≤ 0,2×)")


def xlsx_bench(rows: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"wide_{rows}.xlsx"
    if not path.exists():
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("Indicateurs")
        sheet.append(["Code structure", "Nom structure", "Mois", "Taux de décroché (%)", "Appels reçus",
                      "Appels décrochés", "Délai de réponse aux courriels (jours ouvrés)", "Satisfaction globale",
                      "Nombre de répondants"])
        rng = np.random.default_rng(2)
        for i in range(rows):
            received = int(rng.integers(100, 5000))
            answered = int(received * rng.uniform(0.6, 0.99))
            respondents = int(rng.integers(20, 400))
            sheet.append([f"S{i // 36:05d}", f"Accueil {i // 36}", f"{2023 + (i % 36) // 12}-{i % 12 + 1:02d}",
                          round(100 * answered / received, 1), received, answered,
                          round(float(rng.uniform(1, 8)), 1), round(float(rng.uniform(60, 98)), 1), respondents])
        workbook.save(path)
    def fresh_database():
        for db_file in OUT.glob("bench_xlsx*.duckdb*"):
            db_file.unlink()

    baseline = run_measure(f"""
        import pandas as pd
        t = time.perf_counter()
        frame = pd.read_excel({str(path)!r}, engine="calamine")
        result["seconds"] = time.perf_counter() - t
        result["rows"] = len(frame)
    """)
    ours = run_measure(f"""
        from pathlib import Path
        from indicators import db, importer, rights
        con = db.connect({str(OUT / 'bench_xlsx.duckdb')!r})
        t = time.perf_counter()
        report = importer.import_path(con, Path({str(path)!r}), rights.COMMAND_LINE)
        result["seconds"] = time.perf_counter() - t
        result["rows"] = report.rows_added
        result["outcome"] = report.outcome
    """, fresh_database)
    print(f"XLSX {rows:,} lignes × 9 colonnes")
    print(f"  référence pandas + calamine           : {baseline['seconds']:.2f} s, "
          f"pic {baseline['peak_mib']:.0f} Mio")
    print(f"  notre import complet                  : {ours['seconds']:.2f} s, pic {ours['peak_mib']:.0f} Mio, "
          f"{ours['rows']:,} valeurs ({ours['outcome']})")
    print(f"  rapport import / lecture pandas       : {ours['seconds'] / baseline['seconds']:.2f}× (cible ≤ 1,5×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure; the median is printed")
    args = parser.parse_args()
    global REPEAT
    REPEAT = args.repeat
    csv_bench(args.rows)
    xlsx_bench(args.xlsx_rows)


if __name__ == "__main__":
    main()
