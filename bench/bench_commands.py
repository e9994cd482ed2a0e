"""Command benchmark, run by hand: ``python3 -m bench.bench_commands [--structures 15000] [--repeat 3]``.

The commands people script, each timed as a whole process (interpreter start-up, imports, opening the
base, the assessment, formatting, writing) on 15,000 structures × 4 indicators × the 12 months of 2024
(720,000 values), against a floor measured in the same run: a process that starts the interpreter,
imports duckdb and pandas and runs a plain DuckDB ``GROUP BY structure_code, indicator_code`` (count, avg,
sums) over the same observations of the window. Each figure is the median of ``--repeat`` runs.
Targets: ``status`` (json, table) ≤ 3× the floor; the exports (xlsx, csv values, csv status, open data)
≤ 5× the floor. ``--only NAME`` (repeatable) times some commands only; ``--project DIR`` runs the commands
of another copy of the project (e.g. ``git archive HEAD`` unpacked, for a « before » figure)."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from indicators import db

PROJECT = Path(__file__).resolve().parent.parent

OUT = PROJECT / "bench" / "out"
INDICATORS = ["decroche", "delai_courriels", "satisfaction_globale", "publication_resultats"]
START, END = "2024-01-01", "2024-12-31"

FLOOR = f"""
import sys
import duckdb, pandas
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute(\"\"\"SELECT structure_code, indicator_code, count(*), avg(value), sum(numerator),
                     sum(denominator), sum(sample_size)
              FROM observation WHERE period_start >= DATE '{START}' AND period_end <= DATE '{END}'
              GROUP BY structure_code, indicator_code\"\"\").fetchall()
"""


def build(path: Path, structures: int) -> None:
    """Rows generated inside DuckDB: the 12 months of 2024 for every structure and indicator; one structure
    in five holds a label."""
    con = db.connect(path)
    cur = con.cursor()
    cur.execute("BEGIN")
    cur.execute("""
        INSERT INTO structure (code, name, network, label_level, label_awarded_on, import_id)
        SELECT printf('S%05d', s), printf('Structure %d', s), printf('Réseau %d', s % 12),
               CASE WHEN s % 5 = 0 THEN ['bronze', 'argent', 'or'][1 + s % 3] END,
               CASE WHEN s % 5 = 0 THEN DATE '2023-03-01' + INTERVAL (s % 365) DAY END, 1
        FROM range(?) r(s)""", [structures])
    cur.execute("""
        INSERT INTO observation
        SELECT printf('S%05d', s), i.code,
               (DATE '2024-01-01' + INTERVAL (m) MONTH)::DATE,
               (DATE '2024-01-01' + INTERVAL (m + 1) MONTH - INTERVAL 1 DAY)::DATE,
               CASE WHEN i.code = 'publication_resultats' THEN (hash(s, m) % 10 > 0)::INT
                    WHEN i.code = 'delai_courriels' THEN 1 + (hash(s, i.code, m) % 40) / 10.0
                    ELSE 100.0 * num / den END,
               CASE WHEN i.code IN ('decroche', 'satisfaction_globale') THEN num END,
               CASE WHEN i.code IN ('decroche', 'satisfaction_globale') THEN den END,
               CASE WHEN i.code <> 'publication_resultats' THEN den END,
               NULL, 1, NULL, NULL
        FROM range(?) r(s), range(12) mm(m), (SELECT unnest(?) AS code) i,
             LATERAL (SELECT 5 + hash(s, m, i.code) % 2000 AS den) d,
             LATERAL (SELECT floor(den * (0.6 + (hash(m, s) % 400) / 1000.0)) AS num) n""",
                [structures, INDICATORS])
    cur.execute("COMMIT")
    cur.execute("CHECKPOINT")
    db.close(path)


def run_once(argv: list[str], stdout: Path | None = None, cwd: Path = PROJECT) -> float:
    sink = open(stdout, "wb") if stdout else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, stdout=sink, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - start
    finally:
        if stdout:
            sink.close()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} : code {done.returncode}\n{done.stderr.decode()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", help="time only these commands (names as printed)")
    parser.add_argument("--project", type=Path, default=PROJECT, help="the copy of the project to time")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"commands_{args.structures}.duckdb"
    if not path.exists():
        build(path, args.structures)
    python = sys.executable
    command = [python, "-m", "indicators"]
    base = ["--db", str(path), "--period", "2024"]
    commands = {  # name: (argv, stdout file or None, target ratio)
        "status json": (command + ["status", *base, "--format", "json"], OUT / "status.json", 3),
        "status table": (command + ["status", *base, "--format", "table"], OUT / "status.txt", 3),
        "export xlsx": (command + ["export", *base, "--format", "xlsx", "--output", str(OUT / "rapport.xlsx")],
                        None, 5),
        "export csv valeurs": (command + ["export", *base, "--format", "csv", "--output",
                                          str(OUT / "valeurs.csv")], None, 5),
        "export csv status": (command + ["export", *base, "--format", "csv", "--what", "status", "--output",
                                         str(OUT / "niveaux.csv")], None, 5),
        "export opendata": (command + ["export", *base, "--format", "opendata", "--output",
                                       str(OUT / "opendata.csv")], None, 5),
    }
    if args.only:
        commands = {name: spec for name, spec in commands.items() if name in args.only}
    floor_argv = [python, "-c", FLOOR, str(path)]
    run_once(floor_argv)  # warms the file cache
    # Rounds rather than one command after the other: on a shared machine the load changes from minute to
    # minute, and each round samples the floor beside every command.
    floors, runs = [], {name: [] for name in commands}
    for _ in range(args.repeat):
        floors.append(run_once(floor_argv))
        for name, (argv, stdout, _target) in commands.items():
            runs[name].append(run_once(argv, stdout, args.project.resolve()))
    floor = statistics.median(floors)
    print(f"{args.structures:,} structures × {len(INDICATORS)} indicateurs × 12 mois ({START[:4]}), "
          f"médiane de {args.repeat} exécutions, commandes de {args.project.resolve()}")
    print(f"  {'plancher (python + duckdb + pandas, GROUP BY)':<48} {floor:7.2f} s")
    print(f"  {'commande':<48} {'durée':>9} {'ratio':>7} {'cible':>6}")
    for name, (_argv, _stdout, target) in commands.items():
        seconds = statistics.median(runs[name])
        ratio = seconds / floor
        verdict = "ok" if ratio <= target else "TROP LENT"
        print(f"  {name:<48} {seconds:7.2f} s {ratio:6.2f}× {'≤ ' + str(target) + '×':>6}  {verdict}")


if __name__ == "__main__":
    main()
