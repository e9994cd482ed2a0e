"""The scope of every read and write of indicators/, without Streamlit, on a real DuckDB file holding the
demonstration programme (60 structures: CAF-0001…0007, CPAM-0001…0007, PREF-0001…0010, FS-…) and grants made
through indicators/grants.py: what a director, a head of network, a reader and an administrator see, import,
undo and change; several grants add up, a revoked one counts no more; every refusal is in the audit log."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from helpers import CANONICAL_HEADER, snapshot
from indicators import compliance, db, grants, importer, reports, rights, views
from indicators import referentiel_versions as rv
from indicators.demo import load_demo

CAF = [f"CAF-{n:04d}" for n in range(1, 8)]
CPAM = [f"CPAM-{n:04d}" for n in range(1, 8)]
PREFECTURES = [f"PREF-{n:04d}" for n in range(1, 11)]

DIRECTRICE = rights.Person("Claire Martin", "claire.martin@caf.fr", "pc-claire")
TETE_CAF = rights.Person("Paul Durand", "paul.durand@caf.fr", "pc-paul")
LECTRICE = rights.Person("Léa Petit", "lea.petit@prefecture.gouv.fr", "pc-lea")
SANS_DROIT = rights.Person("Jean Sans", "jean.sans@exemple.fr", "pc-jean")


@pytest.fixture
def demo(con):
    """The demonstration programme (60 structures, seed 3), imported by the command line: imports n°1
    (register) and n°2 (values), each touching every structure."""
    load_demo(con, rights.COMMAND_LINE, 60, seed=3)
    return con


def granted(con, person: rights.Person, *grants_of: tuple) -> rights.Access:
    """The person's access after an administrator granted them each (role, networks, structures)."""
    for role, networks, structures in grants_of:
        grants.grant(con, rights.COMMAND_LINE, email=person.email, role=role, networks=networks,
                     structures=structures)
    return rights.for_person(con, person)


def director(con) -> rights.Access:
    return granted(con, DIRECTRICE, (rights.DIRECTOR, (), ("CAF-0001",)))


def network_head(con) -> rights.Access:
    return granted(con, TETE_CAF, (rights.NETWORK_HEAD, ("CAF",), ()))


def reader(con) -> rights.Access:
    return granted(con, LECTRICE, (rights.READER, ("CAF",), ()))


def window(con):
    return compliance.resolve_window(con, None)


def values_csv(*codes: str, month: str = "2022-01") -> bytes:
    """One « taux de décroché » value per structure for ``month`` (before the demo's data: no conflict)."""
    rows = [f"{code};Structure {code};;decroche;{month}-01;{month}-28;90;900;1000;" for code in codes]
    return "\n".join([CANONICAL_HEADER, *rows, ""]).encode("utf-8")


def imported(con, access: rights.Access, *codes: str, month: str = "2022-01") -> importer.ImportReport:
    report = importer.import_bytes(con, values_csv(*codes, month=month), f"valeurs-{'-'.join(codes)}.csv",
                                   access)
    assert report.outcome == "importe", report.problems
    return report


def audit(con, action: str) -> list[tuple]:
    """(who, subject, detail, import_id) of every line of the audit log with ``action``, oldest first."""
    return con.cursor().execute("SELECT who, subject, detail, import_id FROM audit_log WHERE action = ? "
                                "ORDER BY logged_at", [action]).fetchall()


def codes_of(assessment: compliance.Assessment) -> list[str]:
    return sorted(assessment.structures["code"])


def history_ids(con, access: rights.Access) -> list[int]:
    return [row["id"] for row in importer.history(con, access)]


def unknown_answer(con, access: rights.Access, read, code: str) -> str:
    with pytest.raises(rights.AccessRefused) as refused:
        read(con, access, code)
    return str(refused.value)


# Reads


def test_a_director_assessment_holds_its_structure_only(demo):
    access = director(demo)
    assessment = compliance.assess(demo, window(demo), access)
    assert codes_of(assessment) == ["CAF-0001"]
    assert set(assessment.indicators["structure_code"]) == {"CAF-0001"}
    assert set(assessment.engagements["structure_code"]) == {"CAF-0001"}
    # Asking for its own structure by name gives it, with the same levels as the programme's assessment.
    own = compliance.assess(demo, window(demo), access, structure="CAF-0001")
    whole = compliance.assess(demo, window(demo), rights.COMMAND_LINE)
    assert own.structures["level"].tolist() == whole.structures.set_index("code").loc[["CAF-0001"], "level"].tolist()


def assess_one(con, access, code):
    return compliance.assess(con, window(con), access, structure=code)


def scope_one(con, access, code):
    return reports.scope(con, window(con), access, structure=code)


@pytest.mark.parametrize("read", [assess_one, scope_one, views.structure_series],
                         ids=["assess", "reports.scope", "structure_series"])
def test_another_structure_is_refused_with_the_words_of_a_structure_that_does_not_exist(demo, read):
    access = director(demo)
    # CAF-0002 exists (same network), CAF-9999 does not: the two answers differ by the code alone.
    assert unknown_answer(demo, access, read, "CAF-0002") == "Structure inconnue : « CAF-0002 »."
    assert unknown_answer(demo, access, read, "CAF-9999") == "Structure inconnue : « CAF-9999 »."
    assert unknown_answer(demo, access, read, "CPAM-0001") == "Structure inconnue : « CPAM-0001 »."


def test_restrict_cuts_the_programme_to_the_scope_and_leaves_it_whole_for_an_administrator(demo):
    programme = compliance.assess(demo, window(demo), rights.WHOLE_PROGRAMME)
    assert len(programme.structures) == 60
    assert codes_of(rights.restrict(programme, director(demo))) == ["CAF-0001"]
    head = rights.restrict(programme, network_head(demo))
    assert codes_of(head) == CAF
    assert set(head.indicators["structure_code"]) == set(CAF)
    assert rights.restrict(programme, rights.COMMAND_LINE) is programme


def test_an_export_scope_of_a_director_holds_its_structure_and_the_open_data_file_its_values_only(demo):
    access = director(demo)
    scope = reports.scope(demo, window(demo), access)
    assert scope.structures["code"].tolist() == ["CAF-0001"]
    rows = list(csv.DictReader(io.StringIO(reports.opendata_csv(demo, scope).decode("utf-8-sig")), delimiter=";"))
    assert rows and {row["code_sp_structure"] for row in rows} == {"CAF-0001"}
    # The status table and the workbook are built from the restricted assessment.
    assessment = compliance.assess(demo, window(demo), access)
    assert reports.status_table(assessment)["code_structure"].tolist() == ["CAF-0001"]
    assert reports.opendata_table(demo, assessment)["code_sp_structure"].unique().tolist() == ["CAF-0001"]


def test_a_director_time_series_is_its_structure(demo):
    series = views.structure_series(demo, director(demo), "CAF-0001")
    assert len(series) > 0
    whole = views.structure_series(demo, rights.COMMAND_LINE, "CAF-0001")
    pd.testing.assert_frame_equal(series, whole)


def test_a_network_head_sees_its_whole_network_named_and_nothing_else(demo):
    access = network_head(demo)
    assert codes_of(compliance.assess(demo, window(demo), access)) == CAF
    assert reports.scope(demo, window(demo), access).structures["code"].tolist() == CAF
    assert assess_one(demo, access, "CAF-0007").structures["code"].tolist() == ["CAF-0007"]
    assert unknown_answer(demo, access, assess_one, "CPAM-0001") == "Structure inconnue : « CPAM-0001 »."


def test_a_person_without_a_grant_sees_no_structure(demo):
    access = rights.for_person(demo, SANS_DROIT)
    assert not access.has_grant and not access.may_write
    assert codes_of(compliance.assess(demo, window(demo), access)) == []
    assert reports.scope(demo, window(demo), access).structures.empty
    assert history_ids(demo, access) == []


# History


def test_history_shows_a_director_only_the_imports_whose_every_structure_is_in_its_scope(demo):
    access = director(demo)
    # The demo's two imports touched all 60 structures: a director sees neither.
    assert history_ids(demo, access) == []
    own = imported(demo, access, "CAF-0001").import_id
    other = imported(demo, rights.COMMAND_LINE, "CAF-0002").import_id
    mixed = imported(demo, rights.COMMAND_LINE, "CAF-0001", "CPAM-0001", month="2022-02").import_id
    assert history_ids(demo, access) == [own]
    assert history_ids(demo, network_head(demo)) == [other, own]
    assert history_ids(demo, rights.COMMAND_LINE) == [mixed, other, own, 2, 1]


# Imports


def test_a_file_touching_a_structure_outside_the_scope_is_refused_whole_and_the_refusal_is_logged(demo):
    access = director(demo)
    before = snapshot(demo)
    with pytest.raises(rights.AccessRefused) as refused:
        importer.import_bytes(demo, values_csv("CAF-0001", "CAF-0002", "CAF-9999"), "melange.csv", access)
    message = str(refused.value)
    # Known and unknown outside codes are listed alike; the person's own structure is not.
    assert message == ("Import refusé : le fichier contient des valeurs pour 2 structures hors de votre périmètre "
                       "ou inconnues (CAF-0002, CAF-9999). Rien n'a été enregistré ; retirez ces lignes ou "
                       "demandez l'import à un administrateur.")
    assert snapshot(demo) == before
    assert audit(demo, "refus") == [("Claire Martin <claire.martin@caf.fr>", "pc-claire", message, None)]


def test_a_file_inside_the_scope_is_imported_and_the_history_and_the_log_say_who(demo):
    access = director(demo)
    report = imported(demo, access, "CAF-0001")
    assert report.rows_added == 1
    row = importer.history(demo, access)[0]
    assert (row["id"], row["created_by"]) == (report.import_id, "Claire Martin <claire.martin@caf.fr>")
    subject = demo.cursor().execute("SELECT created_by_subject FROM import_batch WHERE id = ?",
                                    [report.import_id]).fetchall()[0][0]
    assert subject == "pc-claire"
    assert audit(demo, "import")[-1] == ("Claire Martin <claire.martin@caf.fr>", "pc-claire", report.summary(),
                                         report.import_id)
    assert report.summary().startswith(f"valeurs-CAF-0001.csv : importé (import n°{report.import_id})")


def test_a_network_head_imports_for_any_structure_of_its_network_and_not_beyond(demo):
    access = network_head(demo)
    assert imported(demo, access, "CAF-0001", "CAF-0007").rows_added == 2
    before = snapshot(demo)
    with pytest.raises(rights.AccessRefused, match=r"1 structure hors de votre périmètre ou inconnue \(CPAM-0001\)"):
        importer.import_bytes(demo, values_csv("CAF-0003", "CPAM-0001"), "caf-cpam.csv", access)
    assert snapshot(demo) == before


def test_a_network_head_adds_a_structure_to_its_own_network_only_and_a_director_adds_none(demo):
    def new_structure(code: str, network: str) -> bytes:
        row = f"{code};Nouvel accueil;{network};decroche;2022-01-01;2022-01-28;90;900;1000;"
        return "\n".join([CANONICAL_HEADER, row, ""]).encode("utf-8")

    head = network_head(demo)
    for code, network, access in (("CPAM-0999", "CPAM", head), ("CAF-0998", "CAF", director(demo))):
        with pytest.raises(rights.AccessRefused, match=rf"hors de votre périmètre ou inconnue \({code}\)"):
            importer.import_bytes(demo, new_structure(code, network), f"{code}.csv", access)
    report = importer.import_bytes(demo, new_structure("CAF-0999", "CAF"), "caf-0999.csv", head)
    assert (report.outcome, report.structures_added) == ("importe", 1)
    assert db.query(demo, "rights_structure_network", {"code": "CAF-0999"}) == [("CAF",)]
    # A structure of the register keeps its network whatever a file says: no moving CPAM-0001 into CAF.
    with pytest.raises(rights.AccessRefused, match=r"\(CPAM-0001\)"):
        importer.import_bytes(demo, new_structure("CPAM-0001", "CAF"), "cpam-0001.csv", head)


def register_csv(*codes: str) -> bytes:
    lines = ["code_structure;nom_structure;reseau;departement", *(f"{c};Accueil {c};CAF;69" for c in codes)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_the_structures_register_is_imported_by_administrators_only(demo):
    before = snapshot(demo)
    for access in (director(demo), network_head(demo)):
        with pytest.raises(rights.AccessRefused) as refused:
            importer.import_bytes(demo, register_csv("CAF-0001"), "structures.csv", access)
        assert str(refused.value) == "Seul un administrateur peut importer le registre des structures."
    assert snapshot(demo) == before
    assert [detail for _, _, detail, _ in audit(demo, "refus")] == [
        "Seul un administrateur peut importer le registre des structures."] * 2
    report = importer.import_bytes(demo, register_csv("CAF-0001"), "structures.csv", rights.COMMAND_LINE)
    assert report.outcome == "importe" and report.structures_updated == 1


# Undo


def test_a_director_undoes_its_own_import(demo):
    access = director(demo)
    report = imported(demo, access, "CAF-0001")
    message = importer.undo(demo, report.import_id, access)
    assert message.startswith(f"Import n°{report.import_id} (valeurs-CAF-0001.csv) annulé : 1 valeur retirée")
    assert demo.cursor().execute("SELECT count(*) FROM observation WHERE import_id = ?",
                                 [report.import_id]).fetchall()[0][0] == 0
    who, subject, _, import_id = audit(demo, "annulation")[-1]
    assert (who, subject, import_id) == ("Claire Martin <claire.martin@caf.fr>", "pc-claire", report.import_id)


def test_an_import_a_director_does_not_see_cannot_be_undone_and_is_answered_as_one_that_does_not_exist(demo):
    access = director(demo)
    before = snapshot(demo)
    for import_id in (2, 99):  # the demo's values (every structure), and a number never used
        with pytest.raises(importer.UndoRefused) as refused:
            importer.undo(demo, import_id, access)
        assert str(refused.value) == f"Aucun import n°{import_id}."
    assert snapshot(demo) == before


def test_a_blocked_undo_names_the_later_imports_the_director_sees_and_only_counts_the_others(demo):
    def values(rows: list[tuple[str, str, int]]) -> bytes:
        lines = [f"{code};Structure {code};;decroche;{month}-01;{month}-28;{n / 10:g};{n};1000;"
                 for code, month, n in rows]
        return "\n".join([CANONICAL_HEADER, *lines, ""]).encode("utf-8")

    access = director(demo)
    first = importer.import_bytes(demo, values([("CAF-0001", "2022-01", 900), ("CAF-0001", "2022-02", 900)]),
                                  "a.csv", access).import_id
    mine = importer.import_bytes(demo, values([("CAF-0001", "2022-01", 800)]), "b.csv", access,
                                 replace=True).import_id
    hidden = importer.import_bytes(demo, values([("CAF-0001", "2022-02", 700), ("CPAM-0001", "2022-02", 700)]),
                                   "c.csv", rights.COMMAND_LINE, replace=True).import_id
    with pytest.raises(importer.UndoRefused) as refused:
        importer.undo(demo, first, access)
    assert str(refused.value) == (
        f"Des imports plus récents s'appuient sur l'import n°{first} (ils ont remplacé ses valeurs ou utilisent ses "
        f"structures) : annulez d'abord l'import n°{mine} ; 1 autre import, que vous ne voyez pas, en dépend : "
        "demandez l'annulation à un administrateur.")
    assert f"n°{hidden}" not in str(refused.value)
    with pytest.raises(importer.UndoRefused, match=rf"annulez d'abord l'import n°{hidden}, n°{mine}\.$"):
        importer.undo(demo, first, rights.COMMAND_LINE)


def test_an_import_seen_but_touching_structures_one_may_not_change_is_refused_in_french_and_logged(demo):
    # A head of network holding a reader's grant on CPAM too sees an import of CAF and CPAM values, and may
    # not undo it: it changed CPAM-0001.
    access = granted(demo, TETE_CAF, (rights.NETWORK_HEAD, ("CAF",), ()), (rights.READER, ("CPAM",), ()))
    mixed = imported(demo, rights.COMMAND_LINE, "CAF-0001", "CPAM-0001").import_id
    assert mixed in history_ids(demo, access)
    before = snapshot(demo)
    with pytest.raises(importer.UndoRefused) as refused:
        importer.undo(demo, mixed, access)
    message = (f"Annulation refusée : l'import n°{mixed} touche des structures que vous ne pouvez pas modifier. "
               "Demandez l'annulation à un administrateur.")
    assert str(refused.value) == message
    assert snapshot(demo) == before
    assert audit(demo, "refus") == [("Paul Durand <paul.durand@caf.fr>", "pc-paul", message, mixed)]
    assert importer.undo(demo, mixed, rights.COMMAND_LINE).startswith(f"Import n°{mixed} ")


# Référentiel


def test_the_referentiel_is_changed_by_administrators_only(demo):
    edited = rv.thresholds(demo).astype(object)
    edited.loc[edited["code"] == "decroche", "argent"] = 87
    versions = rv.versions(demo)
    for access in (director(demo), network_head(demo), reader(demo)):
        with pytest.raises(rights.AccessRefused, match="^Seul un administrateur peut modifier le référentiel.$"):
            rv.save_version(demo, edited, "Argent à 87 %", access)
        with pytest.raises(rights.AccessRefused, match="^Seul un administrateur peut changer la version du "
                                                       "référentiel en vigueur.$"):
            rv.set_in_force(demo, "2023", access)
    pd.testing.assert_frame_equal(rv.versions(demo), versions)
    assert len(audit(demo, "refus")) == 6
    assert rv.save_version(demo, edited, "Argent à 87 %", rights.COMMAND_LINE) == "2023.1"


# Readers, several grants, revoked grants


def test_a_reader_sees_its_scope_and_may_write_nothing(demo):
    access = reader(demo)
    assert not access.may_write
    assert codes_of(compliance.assess(demo, window(demo), access)) == CAF
    before = snapshot(demo)
    with pytest.raises(rights.AccessRefused, match=r"1 structure hors de votre périmètre ou inconnue \(CAF-0001\)"):
        importer.import_bytes(demo, values_csv("CAF-0001"), "lecteur.csv", access)
    with pytest.raises(rights.AccessRefused, match="^Seul un administrateur peut importer le registre"):
        importer.import_bytes(demo, register_csv("CAF-0001"), "structures.csv", access)
    assert snapshot(demo) == before
    caf_import = imported(demo, rights.COMMAND_LINE, "CAF-0002").import_id
    assert caf_import in history_ids(demo, access)
    with pytest.raises(importer.UndoRefused, match="^Annulation refusée"):
        importer.undo(demo, caf_import, access)
    with pytest.raises(rights.AccessRefused, match="^Seul un administrateur peut gérer les droits d'accès.$"):
        grants.grant(demo, access, email="ami@caf.fr", role=rights.ADMIN)
    with pytest.raises(rights.AccessRefused):
        rv.set_in_force(demo, "2023", access)


def test_several_grants_add_up(demo):
    access = granted(demo, DIRECTRICE, (rights.DIRECTOR, (), ("CAF-0001",)), (rights.DIRECTOR, (), ("CPAM-0002",)),
                     (rights.READER, ("Préfectures",), ()))
    assert codes_of(compliance.assess(demo, window(demo), access)) == ["CAF-0001", "CPAM-0002", *PREFECTURES]
    # Written for both its structures in one file; the préfectures are read only.
    assert imported(demo, access, "CAF-0001", "CPAM-0002").rows_added == 2
    with pytest.raises(rights.AccessRefused, match=r"\(PREF-0001\)"):
        importer.import_bytes(demo, values_csv("PREF-0001"), "prefecture.csv", access)


def test_a_revoked_grant_counts_no_more(demo):
    access = granted(demo, DIRECTRICE, (rights.DIRECTOR, (), ("CAF-0001",)), (rights.DIRECTOR, (), ("CAF-0002",)))
    assert codes_of(compliance.assess(demo, window(demo), access)) == ["CAF-0001", "CAF-0002"]
    in_force = grants.list_grants(demo, rights.COMMAND_LINE)
    grant_id = int(in_force.loc[in_force["structures"].map(lambda s: s == ["CAF-0002"]), "id"].iloc[0])
    grants.revoke(demo, rights.COMMAND_LINE, grant_id)
    access = rights.for_person(demo, DIRECTRICE)
    assert codes_of(compliance.assess(demo, window(demo), access)) == ["CAF-0001"]
    assert unknown_answer(demo, access, assess_one, "CAF-0002") == "Structure inconnue : « CAF-0002 »."
    with pytest.raises(rights.AccessRefused, match=r"\(CAF-0002\)"):
        importer.import_bytes(demo, values_csv("CAF-0002"), "revoque.csv", access)


def test_a_grant_made_to_an_email_is_bound_to_the_subject_at_first_sign_in_and_survives_an_email_change(demo):
    grants.grant(demo, rights.COMMAND_LINE, email=DIRECTRICE.email, role=rights.DIRECTOR, structures="CAF-0001")
    assert rights.signed_in(demo, DIRECTRICE).structures == frozenset({"CAF-0001"})
    assert audit(demo, "connexion") == [("Claire Martin <claire.martin@caf.fr>", "pc-claire",
                                         "connexion (directeur)", None)]
    moved = rights.Person("Claire Martin", "claire.martin@caf-rhone.fr", DIRECTRICE.subject)
    assert rights.for_person(demo, moved).structures == frozenset({"CAF-0001"})
    # Another person who takes the old address later gets nothing of it.
    newcomer = rights.Person("Autre Claire", DIRECTRICE.email, "pc-autre")
    assert not rights.signed_in(demo, newcomer).has_grant


def test_the_dashboard_caches_reads_by_scope_so_two_people_with_one_scope_share_them_and_no_one_else():
    def person(name: str, *, roles, networks=(), structures=()) -> rights.Access:
        return rights.Access(rights.Person(name, f"{name}@exemple.fr", name), frozenset(roles),
                             frozenset(networks), frozenset(structures))

    alice, bob = (person(n, roles={rights.ADMIN}) for n in ("alice", "bob"))
    assert alice.scope_key == bob.scope_key == rights.COMMAND_LINE.scope_key
    claire = person("claire", roles={rights.DIRECTOR}, structures={"CAF-0001", "CAF-0002"})
    same = person("marc", roles={rights.DIRECTOR}, structures={"CAF-0002", "CAF-0001"})
    assert claire.scope_key == same.scope_key
    different = {person("a", roles={rights.DIRECTOR}, structures={"CAF-0001"}).scope_key,
                 person("b", roles={rights.READER}, structures={"CAF-0001"}).scope_key,
                 person("c", roles={rights.NETWORK_HEAD}, networks={"CAF"}).scope_key,
                 person("d", roles={rights.READER}, networks={"CAF"}).scope_key, alice.scope_key}
    assert len(different) == 5
