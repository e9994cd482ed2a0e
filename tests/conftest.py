"""Shared fixtures: a real DuckDB file per test, files written by the tests, the command line in-process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from indicators import cli, db  # noqa: E402

CANONICAL_HEADER = ("code_structure;nom_structure;reseau;code_indicateur;debut_periode;fin_periode;valeur;"
                    "numerateur;denominateur;effectif")

# One value per indicator (valeur, numérateur, dénominateur, effectif), each at « or »:
#   attente_guichet 8 min ≤ 10 ; decroche 950/1000 = 95 % ≥ 90 ; delai_courriels 1,5 ≤ 2 ;
#   delai_courriers 5 ≤ 7 ; delais_annonces 970/1000 = 97 % ≥ 95 ; demarches_en_ligne_8 170/200 = 85 % ≥ 80
#   (n = 200 ≥ 100) ; publication_resultats oui ; satisfaction_globale 184/200 = 92 % ≥ 90 (n = 200 ≥ 100).
GOLD = {
    "attente_guichet": ("8", "", "", "500"),
    "decroche": ("95", "950", "1000", ""),
    "delai_courriels": ("1,5", "", "", "200"),
    "delai_courriers": ("5", "", "", "100"),
    "delais_annonces": ("97", "970", "1000", ""),
    "demarches_en_ligne_8": ("85", "170", "200", ""),
    "publication_resultats": ("oui", "", "", ""),
    "satisfaction_globale": ("92", "184", "200", "200"),
}


@pytest.fixture
def db_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "indicateurs.duckdb"
    monkeypatch.setenv("INDICATEURS_DB", str(path))
    yield path
    db.close_all()


@pytest.fixture
def con(db_path):
    """The shared connection to a fresh database file (schema and référentiel loaded)."""
    return db.connect(db_path)


def count(con, sql: str, params=None) -> int:
    return con.cursor().execute(sql, params or []).fetchall()[0][0]


def snapshot(con) -> dict:
    """Everything users could see change, to prove a refused import changed nothing."""
    cur = con.cursor()
    tables = ("observation", "observation_history", "structure", "structure_history", "import_batch",
              "extra_indicator")
    return {t: sorted(map(repr, cur.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8-sig", newline: str = "\n") -> Path:
    path.write_bytes(newline.join(lines + [""]).encode(encoding))
    return path


def canonical(path: Path, rows: list[str], encoding: str = "utf-8-sig") -> Path:
    return write_csv(path, [CANONICAL_HEADER, *rows], encoding)


@pytest.fixture
def run_cli(db_path, capsys):
    """Run ``python -m indicators`` in-process on the test database; returns (exit code, stdout, stderr)."""
    def run(*args: str):
        argv = [str(a) for a in args]
        if "--db" not in argv and argv and argv[0] in cli.COMMANDS:
            argv += ["--db", str(db_path)]
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
        out = capsys.readouterr()
        return code, out.out, out.err
    return run
