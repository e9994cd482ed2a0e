"""Grants, managed by administrators only: grant, revoke and list on a real DuckDB file, every French
validation message, a CSV of grants stored whole or not at all (problems with their line), the audit log
newest first, a non-administrator refused by every function (and the refusal journaled), a grant found by
e-mail then bound to the provider's subject, and the same through ``python -m indicators acces``."""

from __future__ import annotations

import json
from datetime import date

import pytest

from helpers import canonical, count
from indicators import grants, importer, rights

ADMIN = rights.COMMAND_LINE
TODAY = f"{date.today():%d/%m/%Y}"
DIRECTOR = rights.Access(rights.Person("Claire Martin", "claire.martin@caf.fr", "sub-claire"),
                         frozenset({rights.DIRECTOR}), structures=frozenset({"S-LYON"}),
                         write_structures=frozenset({"S-LYON"}))


@pytest.fixture
def register(con, tmp_path):
    """Four structures in three networks, created the way people create them: by importing a file."""
    rows = [f"{code};{name};{network};decroche;2025-01-01;2025-01-31;95;950;1000;"
            for code, name, network in (("S-LYON", "Accueil de Lyon", "CAF"), ("S-CAEN", "Accueil de Caen", "CAF"),
                                        ("C-NICE", "CPAM de Nice", "CPAM"), ("P-75", "Préfecture de Paris",
                                                                            "Préfecture"))]
    assert importer.import_path(con, canonical(tmp_path / "registre.csv", rows), ADMIN).outcome == "importe"
    return con


def grants_count(con) -> int:
    return count(con, "SELECT count(*) FROM access_grant")


def refused(call) -> list[str]:
    with pytest.raises(grants.GrantError) as error:
        call()
    return error.value.messages


# Grant, list, revoke


def test_a_grant_is_stored_with_its_email_in_lower_case_and_listed_newest_first(register):
    first = grants.grant(register, ADMIN, email=" Claire.Martin@CAF.fr ", role="directeur", structures=["S-LYON"])
    second = grants.grant(register, ADMIN, email="chef@caf.fr", role="tete_de_reseau", networks=["CAF"])
    table = grants.list_grants(register, ADMIN)
    assert table["id"].tolist() == [second, first] == [2, 1]
    row = table.set_index("id").loc[first]
    assert (row["email"], row["role"], row["networks"], row["structures"]) == (
        "claire.martin@caf.fr", "directeur", [], ["S-LYON"])
    assert row["granted_by"] == "ligne de commande (utilisateur système)"
    assert row["granted_at"].date() == date.today()


def test_the_role_may_be_written_in_french_words_and_lists_as_one_text(register):
    grant_id = grants.grant(register, ADMIN, email="chef@caf.fr", role="Tête de réseau", networks="CPAM | CAF")
    assert grants.describe(register, ADMIN, grant_id) == "tête de réseau pour chef@caf.fr, réseaux CAF, CPAM"
    reader = grants.grant(register, ADMIN, email="lecteur@prefecture.fr", role="lecteur", networks=["Préfecture"],
                          structures=["S-CAEN", "S-LYON", "S-CAEN"])
    row = grants.list_grants(register, ADMIN).set_index("id").loc[reader]
    assert (row["role"], row["networks"], row["structures"]) == ("lecteur", ["Préfecture"], ["S-CAEN", "S-LYON"])


@pytest.mark.parametrize(("request_", "messages"), [
    ({"email": "claire", "role": "directeur", "structures": ["S-LYON"]},
     ["Adresse e-mail invalide : « claire » (attendu : prenom.nom@domaine.fr)."]),
    ({"email": None, "role": "directeur", "structures": ["S-LYON"]}, ["Indiquez l'adresse e-mail de la personne."]),
    ({"email": "a@caf.fr", "role": ""},
     ["Indiquez le rôle : administrateur, tête de réseau, directeur ou lecteur."]),
    ({"email": "a@caf.fr", "role": "chef", "networks": ["CAF"]},
     ["Rôle inconnu : « chef » (attendu : administrateur, tête de réseau, directeur ou lecteur)."]),
    ({"email": "a@caf.fr", "role": "tête de réseau"}, ["Un droit « tête de réseau » demande au moins un réseau."]),
    ({"email": "a@caf.fr", "role": "tête de réseau", "networks": ["CAF"], "structures": ["S-LYON"]},
     [("Un droit « tête de réseau » porte sur des réseaux, pas sur des structures : retirez les structures ou "
      "choisissez le rôle « directeur ».")]),
    ({"email": "a@caf.fr", "role": "directeur"}, ["Un droit « directeur » demande au moins une structure."]),
    ({"email": "a@caf.fr", "role": "directeur", "networks": ["CAF"], "structures": ["S-LYON"]},
     [("Un droit « directeur » porte sur des structures, pas sur des réseaux : retirez les réseaux ou choisissez "
      "le rôle « tête de réseau ».")]),
    ({"email": "a@caf.fr", "role": "lecteur"}, ["Un droit « lecteur » demande au moins un réseau ou une structure."]),
    ({"email": "a@caf.fr", "role": "administrateur", "networks": ["CAF"]},
     ["Un droit « administrateur » porte sur tout le programme : n'indiquez ni réseau ni structure."]),
    ({"email": "a@caf.fr", "role": "lecteur", "networks": ["caf", "MSA"], "structures": ["S-LYON", "S-PAU"]},
     ["Réseaux inconnus : « MSA », « caf » (réseaux du registre des structures : CAF, CPAM, Préfecture).",
      "Structure inconnue : « S-PAU »."]),
    ({"email": "mauvais", "role": "inconnu", "structures": ["X-1"]},
     ["Adresse e-mail invalide : « mauvais » (attendu : prenom.nom@domaine.fr).",
      "Rôle inconnu : « inconnu » (attendu : administrateur, tête de réseau, directeur ou lecteur).",
      "Structure inconnue : « X-1 »."]),
])
def test_every_problem_of_a_grant_is_said_in_french_and_nothing_is_stored(register, request_, messages):
    assert refused(lambda: grants.grant(register, ADMIN, **request_)) == messages
    assert grants_count(register) == 0


def test_an_identical_grant_in_force_is_not_granted_twice(register):
    first = grants.grant(register, ADMIN, email="chef@caf.fr", role="tête de réseau", networks=["CAF", "CPAM"])
    # Same person (e-mail in another case), same role, same networks in another order: the same grant.
    assert refused(lambda: grants.grant(register, ADMIN, email="CHEF@caf.fr", role="tete_de_reseau",
                                        networks=["CPAM", "CAF"])) == [
        f"Ce droit est déjà en vigueur (n° {first}) : il n'est pas accordé une seconde fois."]
    # Another scope is another grant; once revoked, the first may be granted again.
    grants.grant(register, ADMIN, email="chef@caf.fr", role="tête de réseau", networks=["CAF"])
    grants.revoke(register, ADMIN, first)
    assert grants.grant(register, ADMIN, email="chef@caf.fr", role="tête de réseau", networks=["CAF", "CPAM"]) == 3


def test_a_revoked_grant_is_kept_with_who_revoked_it_and_leaves_the_list_in_force(register):
    grant_id = grants.grant(register, ADMIN, email="claire.martin@caf.fr", role="directeur", structures=["S-LYON"])
    other = rights.Access(rights.Person("Alice Admin", "alice@modernisation.gouv.fr", "sub-alice"),
                          frozenset({rights.ADMIN}))
    assert grants.revoke(register, other, grant_id) == (
        "Droit n° 1 retiré : directeur pour claire.martin@caf.fr, structure S-LYON.")
    assert grants.list_grants(register, ADMIN).empty
    row = grants.list_grants(register, ADMIN, include_revoked=True).iloc[0]
    assert (row["id"], row["revoked_by"], row["revoked_at"].date()) == (
        1, "Alice Admin <alice@modernisation.gouv.fr>", date.today())
    assert grants_count(register) == 1


def test_revoking_an_unknown_or_already_revoked_grant_is_refused_in_french(register):
    assert refused(lambda: grants.revoke(register, ADMIN, 42)) == ["Aucun droit n° 42."]
    grant_id = grants.grant(register, ADMIN, email="a@caf.fr", role="lecteur", networks=["CAF"])
    grants.revoke(register, ADMIN, grant_id)
    assert refused(lambda: grants.revoke(register, ADMIN, grant_id)) == [
        f"Le droit n° 1 est déjà retiré (le {TODAY} par ligne de commande (utilisateur système))."]


def test_the_last_administrator_grant_is_never_revoked_so_someone_can_still_manage_grants(register):
    first = grants.grant(register, ADMIN, email="chef.ditp@modernisation.gouv.fr", role="administrateur")
    assert refused(lambda: grants.revoke(register, ADMIN, first)) == [
        f"Le droit n° {first} est le dernier droit administrateur en vigueur : accordez d'abord le rôle "
        "administrateur à une autre personne, puis retirez celui-ci."]
    assert len(grants.list_grants(register, ADMIN)) == 1
    second = grants.grant(register, ADMIN, email="adjoint.ditp@modernisation.gouv.fr", role="administrateur")
    assert grants.revoke(register, ADMIN, first).startswith(f"Droit n° {first} retiré")
    assert refused(lambda: grants.revoke(register, ADMIN, second))[0].startswith(f"Le droit n° {second} est le "
                                                                                  "dernier droit administrateur")


def test_a_revoked_grant_no_longer_gives_access(register):
    grant_id = grants.grant(register, ADMIN, email="claire.martin@caf.fr", role="directeur", structures=["S-LYON"])
    person = rights.Person("Claire Martin", "claire.martin@caf.fr", "sub-claire")
    assert rights.for_person(register, person).structures == {"S-LYON"}
    grants.revoke(register, ADMIN, grant_id)
    assert not rights.for_person(register, person).has_grant


def test_a_grant_made_to_an_email_is_found_by_it_then_bound_to_the_subject_at_sign_in(register):
    grants.grant(register, ADMIN, email="claire.martin@caf.fr", role="directeur", structures=["S-LYON"])
    grants.grant(register, ADMIN, email="claire.martin@caf.fr", role="lecteur", networks=["CPAM"])
    # Before her first sign-in, her e-mail alone finds her grants.
    person = rights.Person("Claire Martin", "Claire.Martin@caf.fr", "sub-claire")
    assert rights.for_person(register, person).structures == {"S-LYON"}
    access = rights.signed_in(register, person)
    assert (access.roles, access.structures, access.networks) == ({"directeur", "lecteur"}, {"S-LYON"}, {"CPAM"})
    assert access.write_structures == {"S-LYON"} and not access.write_networks
    assert grants.list_grants(register, ADMIN)["subject"].tolist() == ["sub-claire", "sub-claire"]
    sign_in = grants.journal(register, ADMIN, limit=1).iloc[0]
    assert (sign_in["action"], sign_in["who"], sign_in["subject"], sign_in["detail"]) == (
        "connexion", "Claire Martin <Claire.Martin@caf.fr>", "sub-claire", "connexion (directeur, lecteur)")
    # Her e-mail changes at the provider: the subject still finds her grants; the old e-mail alone no longer does.
    moved = rights.for_person(register, rights.Person("Claire Martin", "claire.durand@caf.fr", "sub-claire"))
    assert moved.structures == {"S-LYON"}
    assert not rights.for_person(register, rights.Person("X", "claire.martin@caf.fr", "sub-other")).has_grant


# The audit log


def test_the_journal_holds_grant_changes_sign_ins_refusals_and_imports_newest_first(register):
    grant_id = grants.grant(register, ADMIN, email="chef@caf.fr", role="tête de réseau", networks=["CAF"])
    rights.journal(register, DIRECTOR, "connexion", "connexion (directeur)")
    with pytest.raises(rights.AccessRefused):
        grants.grant(register, DIRECTOR, email="moi@caf.fr", role="administrateur")
    grants.revoke(register, ADMIN, grant_id)
    journal = grants.journal(register, ADMIN)
    assert journal["action"].tolist()[:5] == ["droit retiré", "refus", "connexion", "droit accordé", "import"]
    assert journal["detail"].tolist()[:4] == [
        "n° 1 : tête de réseau pour chef@caf.fr, réseau CAF",
        "Seul un administrateur peut gérer les droits d'accès.",
        "connexion (directeur)",
        "n° 1 : tête de réseau pour chef@caf.fr, réseau CAF"]
    assert journal.loc[1, "who"] == "Claire Martin <claire.martin@caf.fr>"
    assert journal.loc[1, "subject"] == "sub-claire"
    assert journal.loc[0, "who"] == "ligne de commande (utilisateur système)"
    assert len(grants.journal(register, ADMIN, limit=2)) == 2


# A non-administrator


@pytest.mark.parametrize(("call", "action"), [
    (lambda con: grants.list_grants(con, DIRECTOR), "gérer les droits d'accès"),
    (lambda con: grants.grant(con, DIRECTOR, email="moi@caf.fr", role="administrateur"), "gérer les droits d'accès"),
    (lambda con: grants.revoke(con, DIRECTOR, 1), "gérer les droits d'accès"),
    (lambda con: grants.describe(con, DIRECTOR, 1), "gérer les droits d'accès"),
    (lambda con: grants.import_grants(con, DIRECTOR, grants.template_csv(), "droits.csv"), "gérer les droits d'accès"),
    (lambda con: grants.choices(con, DIRECTOR), "gérer les droits d'accès"),
    (lambda con: grants.journal(con, DIRECTOR), "consulter le journal"),
])
def test_a_non_administrator_is_refused_by_every_function_and_the_refusal_is_journaled(register, call, action):
    grant_id = grants.grant(register, ADMIN, email="claire.martin@caf.fr", role="directeur", structures=["S-LYON"])
    with pytest.raises(rights.AccessRefused, match=f"^Seul un administrateur peut {action}.$"):
        call(register)
    assert grants.list_grants(register, ADMIN)["id"].tolist() == [grant_id]  # nothing granted, nothing revoked
    last = grants.journal(register, ADMIN, limit=1).iloc[0]
    assert (last["action"], last["who"], last["subject"], last["detail"]) == (
        "refus", "Claire Martin <claire.martin@caf.fr>", "sub-claire", f"Seul un administrateur peut {action}.")


# A file of grants


def test_a_file_of_grants_is_stored_whole_in_one_go_and_each_grant_journaled_with_its_line(register):
    content = ("email;rôle;réseaux;structures\n"
               "Claire.Martin@caf.fr;directeur;;S-LYON|S-CAEN\n"
               "\n"
               "chef@caf.fr;Tête de réseau;CAF, CPAM;\n"
               "admin@modernisation.gouv.fr;administrateur;;\n").encode("utf-8-sig")
    result = grants.import_grants(register, ADMIN, content, "droits.csv")
    assert result.ids == [1, 2, 3] and result.message == "droits.csv : 3 droits accordés."
    table = grants.list_grants(register, ADMIN).set_index("id")
    assert table.loc[1, "structures"] == ["S-CAEN", "S-LYON"] and table.loc[1, "email"] == "claire.martin@caf.fr"
    assert table.loc[2, "networks"] == ["CAF", "CPAM"] and table.loc[3, "role"] == "administrateur"
    assert grants.journal(register, ADMIN, limit=1).iloc[0]["detail"] == (
        "n° 3 : administrateur pour admin@modernisation.gouv.fr, tout le programme (fichier droits.csv, ligne 5)")


def test_a_file_of_grants_in_windows_1252_with_commas_is_read(register):
    content = ('email,role,reseaux,structures\n'
               'lecteur@prefecture.fr,lecteur,"Préfecture,CAF",\n').encode("cp1252")
    assert grants.import_grants(register, ADMIN, content, "droits.csv").message == "droits.csv : 1 droit accordé."
    assert grants.list_grants(register, ADMIN).iloc[0]["networks"] == ["CAF", "Préfecture"]


def test_the_same_file_imported_again_changes_nothing_and_says_so(register):
    content = b"email;role;reseaux;structures\na@caf.fr;lecteur;CAF;\nb@caf.fr;lecteur;CPAM;\na@caf.fr;lecteur;CAF;\n"
    assert grants.import_grants(register, ADMIN, content, "d.csv").message == "d.csv : 2 droits accordés."
    assert grants.import_grants(register, ADMIN, content, "d.csv").message == (
        "d.csv : 0 droit accordé ; 2 droits déjà en vigueur, inchangés.")
    assert grants_count(register) == 2


def test_every_problem_of_a_file_of_grants_is_listed_with_its_line_and_nothing_is_stored(register):
    content = ("email;role;reseaux;structures\n"
               "ok@caf.fr;directeur;;S-LYON\n"
               "pas-une-adresse;directeur;;S-LYON\n"
               "b@caf.fr;chef;CAF;\n"
               "c@caf.fr;directeur;;S-PAU\n"
               "d@caf.fr;lecteur;CAF\n"
               "e@caf.fr;tête de réseau;;\n").encode()
    assert refused(lambda: grants.import_grants(register, ADMIN, content, "droits.csv")) == [
        "Ligne 3 : Adresse e-mail invalide : « pas-une-adresse » (attendu : prenom.nom@domaine.fr).",
        "Ligne 4 : Rôle inconnu : « chef » (attendu : administrateur, tête de réseau, directeur ou lecteur).",
        "Ligne 5 : Structure inconnue : « S-PAU ».",
        "Ligne 6 : 3 champs au lieu de 4 (une valeur qui contient le séparateur « ; » doit être entre guillemets).",
        "Ligne 7 : Un droit « tête de réseau » demande au moins un réseau.",
    ]
    assert grants_count(register) == 0
    assert "droit accordé" not in grants.journal(register, ADMIN)["action"].tolist()


@pytest.mark.parametrize(("content", "message"), [
    (b"", "Le fichier est vide : il faut au moins l'en-tête email;role;reseaux;structures et une ligne par droit."),
    (b"email;role;reseaux;structures\n", "Le fichier ne contient aucun droit : seulement l'en-tête."),
    (b"PK\x03\x04\x00\x00", ("Le fichier n'est pas un fichier CSV (contenu binaire) : enregistrez-le au format CSV "
                            "(séparateur point-virgule), par exemple depuis le modèle.")),
    (b"email;role\n\x81\x8d@caf.fr;lecteur\n",
     "L'encodage du fichier n'est pas reconnu (attendu : UTF-8 ou Windows-1252)."),
    (b"email;role;reseaux;structures\n" + b"a@caf.fr;lecteur;CAF;\n" * 50_000,
     ("Le fichier de droits dépasse 1 Mo : un fichier de droits tient en quelques kilo-octets ; vérifiez que "
     "« droits.csv » est le bon fichier.")),
])
def test_a_file_that_is_not_a_file_of_grants_is_refused_in_french(register, content, message):
    assert refused(lambda: grants.import_grants(register, ADMIN, content, "droits.csv")) == [message]
    assert grants_count(register) == 0


def test_a_header_without_the_expected_columns_is_refused_naming_them(register):
    content = b"mail;role;perimetre\na@caf.fr;lecteur;CAF\n"
    assert refused(lambda: grants.import_grants(register, ADMIN, content, "droits.csv")) == [
        "Ligne 1 : colonne inconnue « mail » (colonnes attendues : email, role, reseaux, structures).",
        "Ligne 1 : colonne inconnue « perimetre » (colonnes attendues : email, role, reseaux, structures).",
        "Ligne 1 : colonne manquante : email (colonnes attendues : email, role, reseaux, structures).",
    ]


def test_the_template_is_a_file_of_grants_the_import_accepts(register):
    result = grants.import_grants(register, ADMIN, grants.template_csv(), "modele.csv")
    assert result.message == "modele.csv : 4 droits accordés."
    assert sorted(grants.list_grants(register, ADMIN)["role"]) == sorted(rights.ROLES)


def test_many_problems_are_counted_after_the_first_hundred(register):
    content = b"email;role;reseaux;structures\n" + b"x;lecteur;CAF;\n" * 150
    messages = refused(lambda: grants.import_grants(register, ADMIN, content, "droits.csv"))
    assert len(messages) == 101 and messages[-1] == "… et 50 autres problèmes."


# The command line


def test_the_command_line_grants_lists_and_revokes_in_french(register, run_cli):
    code, out, err = run_cli("acces", "ajouter", "--email", "Claire.Martin@caf.fr", "--role", "directeur",
                             "--structure", "S-LYON", "--structure", "S-CAEN")
    assert (code, err) == (0, "")
    assert out == "Droit n° 1 accordé : directeur pour claire.martin@caf.fr, structures S-CAEN, S-LYON.\n"
    run_cli("acces", "ajouter", "--email", "chef@caf.fr", "--role", "tête de réseau", "--reseau", "CAF")
    code, out, _ = run_cli("acces", "liste")
    assert code == 0
    assert out.splitlines() == [
        (f"n° 2    chef@caf.fr  tête de réseau  réseau CAF  accordé par ligne de commande (utilisateur système) "
        f"depuis le {TODAY}"),
        (f"n° 1    claire.martin@caf.fr  directeur  structures S-CAEN, S-LYON  accordé par ligne de commande "
        f"(utilisateur système) depuis le {TODAY}")]
    assert run_cli("acces", "retirer", "2")[:2] == (0, ("Droit n° 2 retiré : tête de réseau pour chef@caf.fr, "
                                                       "réseau CAF.\n"))
    assert len(run_cli("acces", "liste")[1].splitlines()) == 1
    everything = run_cli("acces", "liste", "--tous")[1].splitlines()
    assert everything[0].endswith(f"du {TODAY} au {TODAY}, retiré par ligne de commande (utilisateur système)")
    code, out, _ = run_cli("acces", "liste", "--tous", "--format", "json")
    records = json.loads(out)
    assert [(r["id"], r["role"], r["networks"], r["structures"], r["revoked_at"] is None) for r in records] == [
        (2, "tete_de_reseau", ["CAF"], [], False), (1, "directeur", [], ["S-CAEN", "S-LYON"], True)]


def test_the_command_line_grants_by_the_providers_subject_when_the_email_is_not_sent(register, run_cli):
    code, out, err = run_cli("acces", "ajouter", "--sujet", "8f2c-41aa", "--role", "directeur",
                             "--structure", "S-LYON")
    assert (code, err) == (0, "")
    assert out == "Droit n° 1 accordé : directeur pour identifiant 8f2c-41aa, structure S-LYON.\n"
    signed_in = rights.signed_in(register, rights.Person("Claire Martin", None, "8f2c-41aa"))
    assert signed_in.structures == frozenset({"S-LYON"}) and signed_in.writes("S-LYON", None)


def test_the_command_line_refuses_a_bad_grant_with_exit_1_and_bad_usage_with_exit_2(register, run_cli):
    code, out, err = run_cli("acces", "ajouter", "--email", "claire", "--role", "directeur")
    assert (code, out) == (1, "")
    assert err.splitlines() == ["Adresse e-mail invalide : « claire » (attendu : prenom.nom@domaine.fr).",
                                "Un droit « directeur » demande au moins une structure."]
    code, _, err = run_cli("acces", "retirer", "7")
    assert (code, err) == (1, "Aucun droit n° 7.\n")
    code, _, err = run_cli("acces", "retirer", "sept")
    assert code == 2 and "« sept » n'est pas un nombre entier positif" in err
    code, _, err = run_cli("acces", "journal", "--limite", "0")
    assert code == 2 and "« 0 » n'est pas un nombre entier positif" in err
    assert run_cli("acces")[0] == 2
    assert grants_count(register) == 0


def test_the_command_line_imports_a_file_of_grants_whole_or_not_at_all(register, run_cli, tmp_path):
    bad = tmp_path / "droits.csv"
    bad.write_text("email;role;reseaux;structures\na@caf.fr;lecteur;CAF;\nb@caf.fr;directeur;;S-PAU\n",
                   encoding="utf-8")
    code, out, err = run_cli("acces", "importer", bad)
    assert (code, out) == (1, "")
    assert err.splitlines() == ["Ligne 3 : Structure inconnue : « S-PAU ».", "Aucun droit n'a été enregistré."]
    assert grants_count(register) == 0
    bad.write_text("email;role;reseaux;structures\na@caf.fr;lecteur;CAF;\nb@caf.fr;directeur;;S-LYON\n",
                   encoding="utf-8")
    assert run_cli("acces", "importer", bad)[:2] == (0, "droits.csv : 2 droits accordés.\n")
    code, _, err = run_cli("acces", "importer", tmp_path / "absent.csv")
    assert (code, err) == (2, f"Fichier introuvable : {tmp_path / 'absent.csv'}\n")


def test_the_command_line_journal_shows_the_newest_lines_first(register, run_cli):
    run_cli("acces", "ajouter", "--email", "a@caf.fr", "--role", "lecteur", "--reseau", "CAF")
    run_cli("acces", "retirer", "1")
    code, out, _ = run_cli("acces", "journal", "--limite", "2")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].endswith("droit retiré   ligne de commande (utilisateur système) : "
                             "n° 1 : lecteur pour a@caf.fr, réseau CAF")
    assert " droit accordé " in lines[1] and lines[1].startswith(TODAY)
