"""CSV files as they really arrive: mixed and old Macintosh line endings, stray carriage returns, very long lines,
years no calendar holds; and where the scratch copy DuckDB reads goes. Each file is written for real and imported
through the command line (or ``importer``); a refusal is French, names its line and changes nothing."""

from __future__ import annotations

import codecs
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from helpers import CANONICAL_HEADER, PROJECT, snapshot
from indicators import importer, reading, rights

ROWS = [
    "CAF01;Caf de l'Ain;CAF;satisfaction_globale;2025-01-01;2025-03-31;92;184;200;200",
    "CAF02;Caf de l'Aisne;CAF;satisfaction_globale;2025-01-01;2025-03-31;91;182;200;200",
    "CAF03;Caf de l'Allier;CAF;satisfaction_globale;2025-01-01;2025-03-31;90;180;200;200",
]
# Words that only DuckDB's or Python's own messages hold: none may reach a user.
FOREIGN = ("Error", "error", "DuckDB", "state machine", "/dev/shm", "/proc/self", "import-", "Traceback",
           "field limit", "Erreur inattendue")


def stored(con) -> list[tuple]:
    """(structure, name, value, effectif, line as an editor shows it), in file order."""
    return con.cursor().execute(
        "SELECT o.structure_code, s.name, o.value, o.sample_size, o.source_line FROM observation o "
        "JOIN structure s ON s.code = o.structure_code ORDER BY o.source_line").fetchall()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def imports(run_cli, path: Path) -> str:
    code, out, err = run_cli("import", path)
    assert code == 0, err
    assert not any(word in out + err for word in FOREIGN), out + err
    return out


def refused(run_cli, con, path: Path) -> str:
    before = snapshot(con)
    code, out, err = run_cli("import", path)
    assert code == 1, out + err
    assert not any(word in err for word in FOREIGN), err
    assert snapshot(con) == before
    return err


READ = [("CAF01", "Caf de l'Ain", 92.0, 200.0, 2), ("CAF02", "Caf de l'Aisne", 91.0, 200.0, 3),
        ("CAF03", "Caf de l'Allier", 90.0, 200.0, 4)]


# --- Line endings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    CANONICAL_HEADER + "\n" + ROWS[0] + "\r\n" + ROWS[1] + "\n" + ROWS[2] + "\n",
    CANONICAL_HEADER + "\n" + ROWS[0] + "\n" + ROWS[1] + "\r\n" + ROWS[2] + "\n",
    CANONICAL_HEADER + "\r\n" + "\n".join(ROWS) + "\n",
    "\n".join([CANONICAL_HEADER, *ROWS]) + "\r\n",
], ids=["premiere-ligne", "ligne-du-milieu", "en-tete", "derniere-ligne"])
def test_lf_file_with_one_crlf_line_is_read(con, run_cli, tmp_path, text):
    # Before: « Invalid Input Error: The CSV Parser state machine reached an invalid state… /dev/shm/import-… ».
    imports(run_cli, write(tmp_path / "melange.csv", text))
    assert stored(con) == READ


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-be"])
def test_macintosh_csv_with_carriage_returns_only_is_read(con, run_cli, tmp_path, encoding):
    # Excel's « CSV Macintosh »: CR alone ends each line. Before: « new-line character seen in unquoted field ».
    text = "\r".join([CANONICAL_HEADER, *ROWS]) + "\r"
    content = (codecs.BOM_UTF16_BE + text.encode("utf-16-be")) if encoding == "utf-16-be" else text.encode(encoding)
    path = tmp_path / "mac.csv"
    path.write_bytes(content)
    imports(run_cli, path)
    assert stored(con) == READ


def test_utf16_macintosh_file_with_a_title_and_a_blank_line_keeps_editor_lines(con, run_cli, tmp_path):
    text = "\r".join(["Export téléphonie – Œuvre", CANONICAL_HEADER, ROWS[0], "", ROWS[1], ROWS[2]])
    imports(run_cli, write(tmp_path / "mac16.csv", text, "utf-16"))
    assert [(r[0], r[4]) for r in stored(con)] == [("CAF01", 3), ("CAF02", 5), ("CAF03", 6)]


def test_macintosh_file_ending_with_a_windows_line_break_is_read(con, run_cli, tmp_path):
    imports(run_cli, write(tmp_path / "mac.csv", "\r".join([CANONICAL_HEADER, *ROWS]) + "\r\n"))
    assert stored(con) == READ


def test_stray_carriage_return_inside_a_cell_is_a_space_and_lines_stay_the_editors(con, run_cli, tmp_path):
    # An editor shows a line break at the lone CR: the rows below it are one line further down there.
    text = "\n".join([CANONICAL_HEADER, ROWS[0].replace("l'Ain", "l'Ain\r"),
                      ROWS[1].replace("Caf de", "Caf\rde"), ROWS[2]]) + "\n"
    imports(run_cli, write(tmp_path / "cr.csv", text))
    assert stored(con) == [("CAF01", "Caf de l'Ain", 92.0, 200.0, 2), ("CAF02", "Caf de l'Aisne", 91.0, 200.0, 4),
                           ("CAF03", "Caf de l'Allier", 90.0, 200.0, 6)]


def test_stray_carriage_return_in_a_windows_file_is_a_space(con, run_cli, tmp_path):
    text = "\r\n".join([CANONICAL_HEADER, ROWS[0].replace("CAF;", "C\rAF;", 1), ROWS[1], ROWS[2]]) + "\r\n"
    imports(run_cli, write(tmp_path / "cr.csv", text))
    assert [(r[0], r[4]) for r in stored(con)] == [("CAF01", 2), ("CAF02", 4), ("CAF03", 5)]
    network = con.cursor().execute("SELECT network FROM structure WHERE code = 'CAF01'").fetchall()[0][0]
    assert network == "C AF"


def test_lone_carriage_return_ending_a_whole_record_is_a_line_break(con, run_cli, tmp_path):
    text = CANONICAL_HEADER + "\n" + ROWS[0] + "\r" + ROWS[1] + "\n" + ROWS[2] + "\n"
    imports(run_cli, write(tmp_path / "cr.csv", text))
    assert stored(con) == READ


def test_ragged_row_of_a_macintosh_file_is_refused_at_the_editors_line(con, run_cli, tmp_path):
    text = "\r".join([CANONICAL_HEADER, ROWS[0], "", ROWS[1].rsplit(";", 2)[0], ROWS[2]]) + "\r"
    err = refused(run_cli, con, write(tmp_path / "mac.csv", text))
    assert "mac.csv, ligne 4 : Le nombre de colonnes de la ligne diffère de celui de l'en-tête." in err


def test_unreadable_csv_is_said_in_french_without_duckdbs_text_or_scratch_path(con, run_cli, tmp_path, monkeypatch):
    # Whatever DuckDB fails on, the user reads French: here the copy it should read has vanished.
    @contextlib.contextmanager
    def vanished(data):
        yield str(tmp_path / "import-disparu" / "data.csv")

    monkeypatch.setattr(reading, "_readable_path", vanished)
    path = write(tmp_path / "ok.csv", "\n".join([CANONICAL_HEADER, *ROWS]) + "\n")
    err = refused(run_cli, con, path)
    assert "ok.csv : Le fichier CSV est mal formé : il ne peut pas être lu à cet endroit." in err
    assert "disparu" not in err


def test_duckdb_line_is_given_as_the_editors_line():
    error = duckdb.InvalidInputException("CSV Error on Line: 7\nOriginal Line: a;b\n"
                                         "  file = /dev/shm/import-x/data.csv")
    problem = reading._unreadable(error, "f.csv", np.asarray([3]))
    assert (problem.problems[0].rule, problem.problems[0].line) == ("csv_lisible", 8)
    assert str(problem) == "f.csv, ligne 8 : Le fichier CSV est mal formé : il ne peut pas être lu à cet endroit."


# --- Long lines ---------------------------------------------------------------------------------------


def test_title_line_with_a_cell_above_the_csv_field_limit_is_read(con, run_cli, tmp_path):
    # Before: « Erreur inattendue (Error) : field larger than field limit (131072) ».
    title = "Export;" + "x" * 200_000
    imports(run_cli, write(tmp_path / "titre.csv", "\n".join([title, CANONICAL_HEADER, *ROWS]) + "\n"))
    assert [(r[0], r[4]) for r in stored(con)] == [("CAF01", 3), ("CAF02", 4), ("CAF03", 5)]


def test_first_line_of_one_long_cell_is_an_unknown_layout_in_french(con, run_cli, tmp_path):
    err = refused(run_cli, con, write(tmp_path / "long.csv", '"' + "x" * 200_000 + "\n" + "\n".join(ROWS) + "\n"))
    assert "long.csv : La mise en page du fichier n'est pas reconnue." in err
    assert len(err) < 2_000


def test_data_cell_above_the_csv_field_limit_is_read_with_editor_lines(con, run_cli, tmp_path):
    # A blank line sends the line numbering through Python's csv module, whose field limit was 131 072.
    name = "Caf " + "y" * 200_000
    text = "\n".join([CANONICAL_HEADER, ROWS[0], "", ROWS[1].replace("Caf de l'Aisne", name), ROWS[2]]) + "\n"
    imports(run_cli, write(tmp_path / "long.csv", text))
    assert [(r[0], len(r[1]), r[4]) for r in stored(con)] == [("CAF01", 12, 2), ("CAF02", len(name), 4),
                                                              ("CAF03", 15, 5)]


def test_line_over_10_mo_is_too_long_with_its_line_not_a_column_count(con, run_cli, tmp_path):
    huge = ROWS[1].replace("Caf de l'Aisne", "z" * (11 * 1024 * 1024))
    err = refused(run_cli, con, write(tmp_path / "enorme.csv", "\n".join([CANONICAL_HEADER, ROWS[0], huge, ROWS[2]])))
    assert "enorme.csv, ligne 3 : Une ligne dépasse la longueur maximale (10 Mo)." in err
    assert "colonnes" not in err.split("enorme.csv, ligne 3")[1].split("\n")[0]
    assert len(err) < 2_000


def test_first_line_over_10_mo_is_too_long(con, run_cli, tmp_path):
    err = refused(run_cli, con, write(tmp_path / "enorme.csv", "x;" * (6 * 1024 * 1024) + "\n" + CANONICAL_HEADER))
    assert "enorme.csv, ligne 1 : Une ligne dépasse la longueur maximale (10 Mo)." in err


def test_refused_layout_echoes_a_few_headers_not_the_whole_line(con, run_cli, tmp_path):
    # Known headers at the end of a 324 Ko line: they were echoed with the 50 000 names before them.
    line = ";".join(f"colonne_{i}" for i in range(30_000)) + ";" + CANONICAL_HEADER
    err = refused(run_cli, con, write(tmp_path / "large.csv", line + "\n" + ROWS[0] + "\n"))
    found = err.split("trouvé « ")[1].split(" » ;")[0]
    assert found.startswith("colonne_0 | colonne_1 | colonne_2")
    assert len(found) < 400
    assert found.endswith("autres colonnes")
    assert len(err) < 2_000


# --- Years no calendar holds ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0000-01-01", "10000-01-01", "31/12/99999", "00/00/0000", "31/12/0000"])
@pytest.mark.parametrize("column", ["debut_periode", "fin_periode"])
def test_impossible_years_in_a_period_are_french_problems(con, run_cli, tmp_path, text, column):
    row = ROWS[0].split(";")
    row[CANONICAL_HEADER.split(";").index(column)] = text
    err = refused(run_cli, con, write(tmp_path / "annee.csv", "\n".join([CANONICAL_HEADER, ";".join(row)]) + "\n"))
    assert f"annee.csv, ligne 2, colonne « {column} » : " in err
    assert f"trouvé « {text} »" in err
    assert any(rule in err for rule in ("Le format de la période n'est pas reconnu.", "Cette date n'existe pas.",
                                        "L'année sort des années possibles."))


@pytest.mark.parametrize("text", ["0000-01-01", "10000-01-01", "31/12/99999"])
def test_impossible_years_in_other_layouts_are_french_problems(con, tmp_path, text):
    files = {
        "export.csv": ("code_sp_structure;intitule_de_la_structure;code_sp_de_l_indicateur;"
                       "date_de_debut_de_l_evaluation;frequence;duree_de_l_evaluation;valeur\n"
                       f"A1;Accueil;IND-1;{text};trimestrielle;3;95\n"),
        "barometre.csv": ("mesure,indicateur,id_indicateur,code_departement,libelle_departement,date,valeur,unite\n"
                          f"m,i,IND-1,01,Ain,{text},95,%\n"),
        "structures.csv": f"code;nom;niveau_label;date_label\nA1;Accueil;or;{text}\n",
    }
    before = snapshot(con)
    for name, content in files.items():
        report = importer.import_bytes(con, content.encode(), name, rights.COMMAND_LINE)
        assert report.outcome == "refuse", name
        assert [p.rule for p in report.problems] in (["periode_reconnue"], ["date_possible"], ["annee_plausible"])
        assert report.problems[0].line == 2
    assert snapshot(con) == before


# --- Where the copy DuckDB reads goes -------------------------------------------------------------------


def _spy_paths(monkeypatch) -> list[str]:
    seen = []
    original = reading._readable_path

    @contextlib.contextmanager
    def spy(data):
        with original(data) as path:
            seen.append((path, os.path.exists(path)))
            yield path
    monkeypatch.setattr(reading, "_readable_path", spy)
    return seen


@pytest.mark.skipif(not getattr(reading, "_USE_MEMFD", True), reason="no anonymous in-memory file on this system")
def test_csv_is_read_from_an_anonymous_memory_file_never_dev_shm(con, run_cli, tmp_path, monkeypatch):
    seen = _spy_paths(monkeypatch)
    imports(run_cli, write(tmp_path / "ok.csv", "\n".join([CANONICAL_HEADER, *ROWS]) + "\n"))
    assert len(seen) == 1 and seen[0][0].startswith("/proc/self/fd/") and seen[0][1]
    assert stored(con) == READ


def test_without_memory_files_the_copy_goes_beside_the_database_and_is_removed(con, run_cli, db_path, tmp_path,
                                                                               monkeypatch):
    monkeypatch.setattr(reading, "_USE_MEMFD", False)
    seen = _spy_paths(monkeypatch)
    imports(run_cli, write(tmp_path / "ok.csv", "\n".join([CANONICAL_HEADER, *ROWS]) + "\n"))
    scratch = db_path.parent / ".tmp-import"
    assert len(seen) == 1 and seen[0][1]
    assert Path(seen[0][0]).parent.parent == scratch
    assert Path(seen[0][0]).parent.name.startswith(f"import-{os.getpid()}-")
    assert list(scratch.iterdir()) == []
    assert stored(con) == READ


def test_scratch_folder_falls_back_to_the_system_temporary_folder(monkeypatch, tmp_path):
    blocker = tmp_path / "fichier"
    blocker.write_text("")
    monkeypatch.setenv("INDICATEURS_DB", str(blocker / "base.duckdb"))  # its folder is a file: cannot be made
    assert reading.scratch_dir() == tempfile.gettempdir()


def test_clean_stale_scratch_removes_only_copies_no_running_process_owns(tmp_path):
    def copy(name: str, age_s: float = 0, content: str = "data.csv") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / content).write_bytes(b"x" * 10)
        then = time.time() - age_s
        os.utime(folder, (then, then))
        return folder

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    dead_pid = int(ended.stdout)
    mine = copy(f"import-{os.getpid()}-en-cours", age_s=3600)
    dead = copy(f"import-{dead_pid}-tue")
    reused = copy("import-1-ancien", age_s=40 * 365 * 86400)  # older than the process now holding pid 1
    running = copy("import-1-recent") if reading._process_started_at(1) is None else None
    legacy_old = copy("import-ab12cd", age_s=3600)
    legacy_new = copy("import-ef34gh")
    foreign = copy(f"import-{dead_pid}-autre", content="autre.txt")
    removed = reading.clean_stale_scratch([str(tmp_path)])
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {mine.name, legacy_new.name, foreign.name} | ({running.name} if running else set())
    assert dead.name not in left and reused.name not in left and legacy_old.name not in left
    assert removed == 3
    assert reading.clean_stale_scratch([str(tmp_path / "absent")]) == 0


def test_lines_with_thousands_of_extra_cells_are_refused_at_constant_memory(tmp_path, db_path):
    # DuckDB keeps one rejected record, with its whole line, per extra cell: 4 lines of 20 000 extra cells
    # (a 165 Ko file) once cost 2,6 Gio. The csv module finds them in one pass instead.
    extra = ";x" * 20_000
    path = write(tmp_path / "larges.csv", "\n".join(
        [CANONICAL_HEADER, ROWS[0] + extra, ROWS[1], ROWS[2] + extra, ROWS[0].replace("CAF01", "CAF09") + extra,
         ""]))
    script = ("import resource, sys; from indicators.cli import main; code = main(sys.argv[1:]); "
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script, "import", str(path), "--db", str(db_path)], cwd=PROJECT,
                            capture_output=True, text=True, timeout=120)
    *messages, peak_mib = result.stderr.strip().splitlines()
    assert result.returncode == 1
    text = "\n".join(messages)
    assert text.count("Le nombre de colonnes de la ligne diffère de celui de l'en-tête.") == 3
    assert all(f"larges.csv, ligne {n} : " in text for n in (2, 4, 5))
    assert int(peak_mib) < 600
