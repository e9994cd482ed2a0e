"""Status benchmark, run by hand: ``python3 -m bench.bench_status [--structures 15000] [--repeat 3]``.

15,000 structures × 8 indicators × 36 monthly observations (4.3 M rows, every structure that publishes on
the programme's site). Prints, each the median of ``--repeat`` runs in the same process on the same file:
- baseline: a plain DuckDB ``GROUP BY structure, indicator`` over the rows;
- ours: the full ``status`` assessment of one year (aggregation, levels, gaps, engagements, labels);
- naive: every row loaded into pandas and grouped there;
and the ratios (target: ours ≤ 3× the baseline, peak memory ≤ 2 GiB)."""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from datetime import date
from pathlib import Path

from indicators import compliance, db, rights

PROJECT = Path(__file__).resolve().parent.parent

OUT = PROJECT / "bench" / "out"
INDICATORS = ["attente_guichet", "decroche", "delai_courriels", "delai_courriers", "delais_annonces",
              "demarches_en_ligne_8", "publication_resultats", "satisfaction_globale"]


def build(path: Path, structures: int) -> None:
    """The rows are generated inside DuckDB: 36 months from 2023-01 for every structure and indicator."""
    con = db.connect(path)
    cur = con.cursor()
    cur.execute("BEGIN")
    cur.execute("""
        INSERT INTO structure (code, name, network, import_id)
        SELECT printf('S%05d', s), printf('Structure %d', s), printf('Réseau %d', s % 12), 1
        FROM range(?) r(s)""", [structures])
    cur.execute("""
        INSERT INTO observation
        SELECT printf('S%05d', s), i.code,
               (DATE '2023-01-01' + INTERVAL (m) MONTH)::DATE,
               (DATE '2023-01-01' + INTERVAL (m + 1) MONTH - INTERVAL 1 DAY)::DATE,
               CASE WHEN i.code = 'publication_resultats' THEN (hash(s, m) % 10 > 0)::INT
                    WHEN i.code IN ('attente_guichet', 'delai_courriels', 'delai_courriers')
                        THEN 1 + (hash(s, i.code, m) % 200) / 10.0
                    ELSE 100.0 * num / den END,
               CASE WHEN i.code IN ('decroche', 'delais_annonces', 'demarches_en_ligne_8',
                                    'satisfaction_globale') THEN num END,
               CASE WHEN i.code IN ('decroche', 'delais_annonces', 'demarches_en_ligne_8',
                                    'satisfaction_globale') THEN den END,
               CASE WHEN i.code <> 'publication_resultats' THEN den END,
               NULL, 1, NULL, NULL
        FROM range(?) r(s), range(36) mm(m), (SELECT unnest(?) AS code) i,
             LATERAL (SELECT 50 + hash(s, m, i.code) % 2000 AS den) d,
             LATERAL (SELECT floor(den * (0.6 + (hash(m, s) % 400) / 1000.0)) AS num) n""",
                [structures, INDICATORS])
    cur.execute("COMMIT")
    cur.execute("CHECKPOINT")
    db.close(path)


def timed(function, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"status_{args.structures}.duckdb"
    if not path.exists():
        build(path, args.structures)
    con = db.connect(path)
    rows = con.cursor().execute("SELECT count(*) FROM observation").fetchall()[0][0]
    window = compliance.resolve_window(con, "2025")

    def baseline():
        con.cursor().execute("SELECT structure_code, indicator_code, count(*), avg(value), sum(numerator), "
                             "sum(denominator) FROM observation GROUP BY structure_code, indicator_code").fetchall()

    def ours():
        compliance.assess(con, window, rights.COMMAND_LINE, today=date(2026, 1, 15))

    def naive():
        frame = con.cursor().execute("SELECT * FROM observation").df()
        inside = frame[(frame["period_start"] >= "2025-01-01") & (frame["period_end"] <= "2025-12-31")]
        inside.groupby(["structure_code", "indicator_code"]).agg(
            value=("value", "mean"), num=("numerator", "sum"), den=("denominator", "sum"))

    t_base, t_ours = timed(baseline, args.repeat), timed(ours, args.repeat)
    peak_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t_naive = timed(naive, 1)
    assessment = compliance.assess(con, window, rights.COMMAND_LINE, today=date(2026, 1, 15))
    print(f"{rows:,} observations, {args.structures:,} structures, fenêtre {window.label}")
    print(f"  référence GROUP BY DuckDB       : {t_base:.3f} s")
    print(f"  évaluation complète (status)    : {t_ours:.3f} s  → {t_ours / t_base:.2f}× la référence "
          "(cible ≤ 3×)")
    print(f"  approche naïve (tout en pandas) : {t_naive:.3f} s  → {t_naive / t_ours:.1f}× plus lente que la "
          "nôtre")
    print(f"  pic mémoire du processus avant l'approche naïve : {peak_ours:.0f} Mio (cible ≤ 2 048)")
    print(f"  niveaux : {assessment.structures['level'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
