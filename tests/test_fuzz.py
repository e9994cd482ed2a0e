"""Seeded mutation fuzzing of ``python -m indicators import``: valid CSV and xlsx seeds, damaged in ways files
really get damaged (bytes flipped, cut short, quotes, separators, NUL and BOM, line endings, dates and numbers out
of range; for workbooks, damaged zip members and headers, broken sheet XML, huge declared dimensions), each run
through the real command line on a real database file, in a worker process the case cannot kill.

Invariant of every case: exit 0 or 1; a refusal is French on stderr, with no traceback, no « Erreur inattendue »,
no library English, no scratch path; a refused file changes nothing in the database and leaves no scratch file;
peak memory stays under the bound. Cases, mutators and the worker: ``tests/fuzzing.py``.

A few hundred cases here, about half a minute on two cores: ``FUZZ_CASES`` (300), ``FUZZ_SEED``, ``FUZZ_JOBS`` (2),
``FUZZ_TIMEOUT_S`` (15 s per case) and ``FUZZ_BUDGET_S`` (120 s for the whole campaign) scale it. A failure prints
each case as ``seed=S index=I family: mutations`` with the stderr it produced; ``python3 -m bench.fuzz --seed S
--case I`` reruns it and writes the input to bench/out/fuzz-failures/. Long campaigns: ``bench/fuzz.py``."""

from __future__ import annotations

import os
import time

import pytest

import helpers
import fuzzing

SEED = int(os.environ.get("FUZZ_SEED", fuzzing.DEFAULT_SEED))
CASES = int(os.environ.get("FUZZ_CASES", "300"))
JOBS = int(os.environ.get("FUZZ_JOBS", "2"))
TIMEOUT_S = float(os.environ.get("FUZZ_TIMEOUT_S", "15"))
BUDGET_S = float(os.environ.get("FUZZ_BUDGET_S", "120"))
SHOWN_PER_SIGNATURE = 2


@pytest.fixture(scope="module")
def pool():
    with fuzzing.Pool(JOBS, fuzzing.PROJECT, timeout_s=TIMEOUT_S) as workers:
        yield workers


@pytest.fixture(scope="module")
def campaign(pool) -> list[fuzzing.Outcome]:
    """Every case once, all families mixed so that both workers stay busy; each test looks at its family."""
    return pool.run(SEED, range(CASES), deadline=time.monotonic() + BUDGET_S)


def explain(outcomes: list[fuzzing.Outcome], total: int, what: str) -> str:
    failures = [o for o in outcomes if o.failed]
    groups = fuzzing.group(failures)
    lines = [f"{len(failures)} cas sur {total} en échec ({what}), {len(groups)} signature(s) :"]
    for sig, members in groups.items():
        lines.append(f"\n[{len(members)}] {sig}")
        lines += ["  " + o.report().replace("\n", "\n  ") for o in members[:SHOWN_PER_SIGNATURE]]
        if len(members) > SHOWN_PER_SIGNATURE:
            lines.append("  autres index : " + " ".join(str(o.index) for o in members[SHOWN_PER_SIGNATURE:][:30]))
    return "\n".join(lines)


def test_seed_data_is_the_shared_gold_data():
    assert fuzzing.GOLD == helpers.GOLD
    assert fuzzing.CANONICAL_HEADER == helpers.CANONICAL_HEADER


def test_a_case_is_the_same_bytes_from_its_seed_and_index_alone():
    for index in range(2 * len(fuzzing.FAMILIES)):
        first, again = fuzzing.make_case(SEED, index), fuzzing.make_case(SEED, index)
        assert (first.data, first.steps) == (again.data, again.steps)
        assert first.family == fuzzing.FAMILIES[index % len(fuzzing.FAMILIES)] and first.steps
    assert len({fuzzing.make_case(SEED, i).data for i in range(60)}) > 50


COUNTS = dict.fromkeys(fuzzing.COUNTED_TABLES, 0)
FRENCH_REFUSAL = {"rc": 1, "stdout": "", "stderr": "cas.csv : refusé, 1 problème ; rien n'a été enregistré.\n"
                  "  - cas.csv, ligne 3, colonne valeur : « abc » (attendu : un nombre)\n"
                  "Aucun fichier n'a été importé.\n",
                  "counts_before": COUNTS, "counts": COUNTS, "leftovers": [], "peak_rss": 200 << 20, "size": 900,
                  "own_paths": ["/tmp/fuzz-1/w0/in/cas.csv"]}


@pytest.mark.parametrize("change, kind", [
    ({"stderr": "Erreur inattendue (KeyError) : 'c3'. Rien n'a été enregistré."}, "« Erreur inattendue »"),
    ({"stderr": "Invalid Input Error: The CSV Parser state machine reached an invalid state. Rien n'a été "
                "enregistré."}, "mot anglais error/exception"),
    ({"stderr": "Fichier illisible : /dev/shm/import-12-ab/data.csv"}, "chemin de fichier temporaire"),
    ({"stderr": "Traceback (most recent call last):\n  File \"x\"\nKeyError: 1"}, "traceback"),
    ({"stderr": "thread '<unnamed>' panicked at src/xlsx.rs:12"}, "arrêt d'une bibliothèque native"),
    ({"stderr": ""}, "refus sans message"),
    ({"stderr": "Something went wrong."}, "message pas en français"),
    ({"rc": 2}, "code de sortie"),
    ({"rc": None, "uncaught": "KeyboardInterrupt: "}, "exception non rattrapée"),
    ({"counts": {**COUNTS, "observation": 3}}, "base modifiée malgré le refus"),
    ({"counts_error": "IOException: damaged"}, "base illisible après un refus"),
    ({"leftovers": ["/tmp/fuzz-1/w0/tmp/import-12-x"]}, "fichiers temporaires laissés"),
    ({"peak_rss": 3 << 30}, "mémoire non bornée"),
    ({"rss_before": 180 << 20, "peak_rss": 1400 << 20}, "mémoire disproportionnée"),
    ({"stderr": "Mémoire insuffisante pour traiter cette demande. Rien n'a été enregistré."},
     "mémoire non bornée"),
    ({"died": -6, "stderr": "memory allocation of 549755813888 bytes failed\nstack backtrace:"}, "processus mort"),
    ({"timeout": 15.0}, "délai dépassé"),
])
def test_the_invariant_catches_each_kind_of_failure(change, kind):
    assert fuzzing.violations(FRENCH_REFUSAL, 2 << 30) == []
    assert fuzzing.violations({**FRENCH_REFUSAL, "stderr": "Fichier introuvable : /tmp/fuzz-1/w0/in/cas.csv"},
                              2 << 30) == []  # the case's own path, given on the command line, may be echoed
    assert kind in [k for k, _ in fuzzing.violations({**FRENCH_REFUSAL, **change}, 2 << 30)]


def test_every_seed_is_imported_as_it_is(pool):
    # Fuzzing from seeds the product refuses would only test the refusal of one layout.
    outcomes = pool.run(SEED, range(len(fuzzing.FAMILIES)), plain=True)
    assert [o.result.get("rc") for o in outcomes] == [0] * len(fuzzing.FAMILIES), explain(
        outcomes, len(outcomes), "graines intactes") + "\n" + "\n".join(o.report() for o in outcomes)
    assert not any(o.failed for o in outcomes), explain(outcomes, len(outcomes), "graines intactes")


@pytest.mark.parametrize("family", fuzzing.FAMILIES)
def test_a_damaged_file_is_imported_or_refused_in_french_and_changes_nothing(campaign, family):
    mine = [o for o in campaign if o.family == family]
    assert not any(o.failed for o in mine), explain(mine, len(mine), f"{family}, FUZZ_SEED={SEED}")


def test_the_campaign_ran_every_case_within_its_budget(campaign):
    assert len(campaign) == CASES, (f"{len(campaign)} cas sur {CASES} joués en {BUDGET_S:g} s : le produit est devenu "
                                    f"lent sur des fichiers endommagés (FUZZ_BUDGET_S pour attendre plus)")
