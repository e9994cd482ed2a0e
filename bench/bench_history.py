"""Level history benchmark, run by hand: ``python3 -m bench.bench_history [--structures 15000] [--repeat 3]``.

The 36-month level history of every structure (indicators/history.py: monthly levels, the months each level was
reached and lost, the counts per network and month) against one ``status`` run, both timed as whole processes
(interpreter start-up, imports, opening the base, the work) in the same rounds, on a copy in /tmp of the dashboard
benchmark's base (bench/out/app_<structures>.duckdb, made by bench.bench_app: the demonstration programme, 36
months of data). Prints each median and the ratio (target: history ≤ 5× status) and each process's peak memory."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
OUT = PROJECT / "bench" / "out"
TARGET = 5

HISTORY = """
import sys
from indicators import db, history, rights
con = db.connect(sys.argv[1])
levels = history.monthly_levels(con, rights.COMMAND_LINE)
structures = db.query_df(con, "structures_for_status", {"structure": None, "codes": None})
history.level_changes(levels)
history.network_counts(levels, structures)
print(len(levels))
"""


def run_once(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak memory in MiB) of one process, its output thrown away."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    error = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv[:4])} … : code {os.waitstatus_to_exitcode(status)}\n{error}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--structures", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = OUT / f"app_{args.structures}.duckdb"
    if not source.exists():
        raise SystemExit(f"{source} manque : le créer d'abord avec python3 -m bench.bench_app "
                         f"--structures {args.structures}")
    with tempfile.TemporaryDirectory(prefix="bench_history_") as folder:
        path = Path(folder) / source.name
        shutil.copyfile(source, path)
        commands = {
            "status (--format json)": [sys.executable, "-m", "indicators", "status", "--db", str(path),
                                       "--format", "json"],
            "historique 36 mois": [sys.executable, "-c", HISTORY, str(path)],
        }
        run_once(commands["status (--format json)"])  # warms the file cache
        # Rounds rather than one command after the other: on a shared machine the load changes from minute to
        # minute, and each round samples both.
        runs = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, argv in commands.items():
                runs[name].append(run_once(argv))
    print(f"{args.structures:,} structures, médiane de {args.repeat} exécutions (processus entiers)")
    seconds = {name: statistics.median(s for s, _ in done) for name, done in runs.items()}
    for name, done in runs.items():
        print(f"  {name:<28} {seconds[name]:7.2f} s   mémoire max {max(m for _, m in done):6.0f} Mio")
    ratio = seconds["historique 36 mois"] / seconds["status (--format json)"]
    verdict = "ok" if ratio <= TARGET else "TROP LENT"
    print(f"  ratio historique / status   {ratio:6.2f}×  (cible ≤ {TARGET}×) {verdict}")


if __name__ == "__main__":
    main()
