"""Mutation fuzzing campaigns of ``python -m indicators import``, run by hand:

    python3 -m bench.fuzz --cases 5000 --seed 7 [--jobs 2] [--write-failures]
    python3 -m bench.fuzz --seed 7 --case 123 [--case 456]     # rerun cases, full output, input written

Cases, mutators, workers and the invariant live in ``tests/fuzzing.py`` (the same as ``tests/test_fuzz.py``):
case (seed, index) is the same file in every run. Prints cases per second and the failures grouped by
signature (the broken rule and the offending line of stderr, values and numbers blanked), each group with
reproducible case ids; ``--write-failures`` writes each failing input and its report to
``bench/out/fuzz-failures/`` (ignored by git)."""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

from tests import fuzzing

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent

FAILURES_DIR = HERE / "out" / "fuzz-failures"


def code_version(project: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(project), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(project), "status", "--porcelain", "--", "indicators", "sql"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return (head or "(pas un dépôt git)") + (" + modifications non commitées" if dirty else "")


def write_failure(outcome: fuzzing.Outcome, folder: Path) -> Path:
    case = fuzzing.make_case(outcome.seed, outcome.index)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{outcome.seed}-{outcome.index}-{case.family}"
    path = folder / f"{stem}{Path(case.filename).suffix}"
    path.write_bytes(case.data)
    (folder / f"{stem}.txt").write_text(
        outcome.report(stderr_lines=60)
        + f"\n    à la main : python3 -m indicators import {path} --db /tmp/essai.duckdb\n"
        + "\nstdout :\n" + outcome.result.get("stdout", "") + "\nstderr :\n" + outcome.result.get("stderr", ""),
        encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000, help="number of cases (indices from --start)")
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--seed", type=int, default=fuzzing.DEFAULT_SEED)
    parser.add_argument("--case", type=int, action="append", help="run only this case index (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--timeout", type=float, default=fuzzing.DEFAULT_TIMEOUT_S, help="seconds per case")
    parser.add_argument("--memory-mb", type=int, default=fuzzing.DEFAULT_MEMORY_MB,
                        help="peak RSS bound per case (the worker's RLIMIT_AS is set a little above)")
    parser.add_argument("--project", type=Path, default=PROJECT,
                        help="code tree to fuzz (default: this one), e.g. a `git archive` of a commit")
    parser.add_argument("--write-failures", action="store_true", help=f"write failing inputs to {FAILURES_DIR}")
    parser.add_argument("--examples", type=int, default=3, help="cases shown per failure group")
    parser.add_argument("--json", type=Path, help="also write every failing outcome as JSON lines here")
    args = parser.parse_args()

    indices = args.case or range(args.start, args.start + args.cases)
    project = args.project.resolve()
    print(f"Fuzzing {project} ({code_version(project)}), seed {args.seed}, {len(indices)} cas, {args.jobs} "
          f"processus, borne {args.memory_mb} Mio, {args.timeout:g} s par cas", flush=True)

    started, last = time.monotonic(), [time.monotonic()]
    done, failed = [0], [0]

    def progress(outcome: fuzzing.Outcome) -> None:
        done[0] += 1
        failed[0] += outcome.failed
        if args.case:
            print(outcome.report(stderr_lines=40), flush=True)
        elif time.monotonic() - last[0] > 10:
            last[0] = time.monotonic()
            rate = done[0] / (last[0] - started)
            print(f"  {done[0]}/{len(indices)} cas, {rate:.1f} cas/s, {failed[0]} en échec", flush=True)

    with fuzzing.Pool(args.jobs, project, args.memory_mb, args.timeout) as pool:
        ready = time.monotonic()
        outcomes = pool.run(args.seed, indices, on_outcome=progress)
        restarts = pool.restarts
    elapsed = time.monotonic() - ready

    codes = collections.Counter(o.result.get("rc", "mort/délai") for o in outcomes)
    per_family = collections.Counter(o.family for o in outcomes if o.failed)
    failures = [o for o in outcomes if o.failed]
    print(f"\n{len(outcomes)} cas en {elapsed:.1f} s (démarrage des processus {ready - started:.1f} s) : "
          f"{len(outcomes) / elapsed:.1f} cas/s avec {args.jobs} processus ; {restarts} redémarrage(s)")
    print("codes de sortie : " + ", ".join(f"{k} × {v}" for k, v in sorted(codes.items(), key=str)))
    print(f"en échec : {len(failures)} ({100 * len(failures) / max(len(outcomes), 1):.1f} %)"
          + (" — " + ", ".join(f"{f} {n}" for f, n in per_family.most_common()) if per_family else ""))
    seconds = sorted(o.result.get("seconds", args.timeout) for o in outcomes)
    if seconds:
        print(f"durée d'un cas : médiane {seconds[len(seconds) // 2]:.2f} s, max {seconds[-1]:.2f} s ; pic mémoire "
              f"max {max(o.result.get('peak_rss', 0) for o in outcomes) >> 20} Mio")
        slowest = sorted(outcomes, key=lambda o: -o.result.get("seconds", 0))[:3]
        print("les plus lents : " + " ; ".join(f"{o.result.get('seconds', 0):.1f} s {o.describe()[:150]}"
                                                for o in slowest))
        heaviest = max(outcomes, key=lambda o: o.result.get("peak_rss", 0))
        print(f"le plus gourmand : {heaviest.result.get('peak_rss', 0) >> 20} Mio {heaviest.describe()[:150]}")

    groups = {} if args.case else fuzzing.group(outcomes)  # --case printed each report already
    if groups:
        print(f"\n{len(groups)} signature(s) d'échec :")
    for sig, members in groups.items():
        print(f"\n[{len(members)}] {sig}")
        for outcome in members[:args.examples]:
            print("  " + outcome.report(stderr_lines=4).replace("\n", "\n  "))
        if len(members) > args.examples:
            print("  autres : " + " ".join(str(o.index) for o in members[args.examples:args.examples + 40])
                  + (" …" if len(members) > args.examples + 40 else ""))
    if args.write_failures and failures:
        for outcome in failures:
            write_failure(outcome, FAILURES_DIR)
        print(f"\n{len(failures)} entrée(s) en échec écrites dans {FAILURES_DIR}")
    if args.case and not args.write_failures:
        for outcome in outcomes:
            print(f"entrée écrite : {write_failure(outcome, FAILURES_DIR)}")
    if args.json:
        with args.json.open("w", encoding="utf-8") as f:
            for outcome in failures:
                f.write(json.dumps({"seed": outcome.seed, "index": outcome.index, "problems": outcome.problems,
                                    "signatures": outcome.signatures, "result": outcome.result},
                                   ensure_ascii=False) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
