"""Improvement actions on a real DuckDB file: recorded, listed and removed within each person's rights (a director
for their structure, a network head for their network's, an administrator for all), refused in French with
nothing written, journaled; and their before/after computed by the engine's rules on monthly rows written here."""

from __future__ import annotations

from datetime import date

import pytest

from helpers import CANONICAL_HEADER
from indicators import actions, compliance, grants, importer, rights

DIRECTRICE = rights.Person("Claire Martin", "claire.martin@caf.fr", "pc-claire")
TETE_CAF = rights.Person("Paul Durand", "paul.durand@caf.fr", "pc-paul")
LECTRICE = rights.Person("Léa Petit", "lea.petit@prefecture.gouv.fr", "pc-lea")
ADMIN = rights.COMMAND_LINE

NNBSP = "\u202f"  # French thousands and the space before « % »

# S-LYON's calls (taux de décroché), by month of 2025: (appels décrochés, appels nécessitant un agent).
# January–March: (2 997 + 2 997 + 3 078) / (3 700 + 3 700 + 3 800) = 9 072 / 11 200 = 81,0 %.
# April–June: (3 323 + 3 408 + 3 408) / (3 900 + 4 000 + 4 000) = 10 139 / 11 900 = 85,2017 % → 85,2 %.
CALLS = {1: (2997, 3700), 2: (2997, 3700), 3: (3078, 3800), 4: (3323, 3900), 5: (3408, 4000), 6: (3408, 4000)}
# Waiting at the counter (minutes, weighted by the people received): 18 min over 400 a month in January–March
# (n = 1 200), then 15 min over 400, 450, 450 in April–June (n = 1 300).
WAITING = {1: (18, 400), 2: (18, 400), 3: (18, 400), 4: (15, 400), 5: (15, 450), 6: (15, 450)}


def month_row(code: str, name: str, network: str, indicator: str, month: int, value, numerator="",
              denominator="", sample="") -> str:
    last = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30}[month]
    return (f"{code};{name};{network};{indicator};2025-{month:02d}-01;2025-{month:02d}-{last};{value};{numerator};"
            f"{denominator};{sample}")


def rows() -> list[str]:
    lyon = [month_row("S-LYON", "Accueil de Lyon", "CAF", "decroche", m, round(100 * num / den, 2), num, den)
            for m, (num, den) in CALLS.items()]
    lyon += [month_row("S-LYON", "Accueil de Lyon", "CAF", "attente_guichet", m, minutes, sample=people)
             for m, (minutes, people) in WAITING.items()]
    # E-mails answered only before April: no « after » to compare with.
    lyon += [month_row("S-LYON", "Accueil de Lyon", "CAF", "delai_courriels", m, 4, sample=100) for m in (1, 2, 3)]
    # Satisfaction by quarter: 36 of 60 answers in Q1, 112 of 140 in Q2 (the référentiel asks 100 at least).
    lyon += ["S-LYON;Accueil de Lyon;CAF;satisfaction_globale;2025-01-01;2025-03-31;60;36;60;60",
             "S-LYON;Accueil de Lyon;CAF;satisfaction_globale;2025-04-01;2025-06-30;80;112;140;140"]
    others = [month_row("S-CAEN", "Accueil de Caen", "CAF", "decroche", 1, 90, 900, 1000),
              month_row("S-PARIS", "Accueil de Paris", "CPAM", "decroche", 1, 90, 900, 1000)]
    return lyon + others


@pytest.fixture
def base(con):
    """Three structures (S-LYON and S-CAEN of CAF, S-PARIS of CPAM) and S-LYON's months of 2025, imported."""
    content = "\n".join([CANONICAL_HEADER, *rows(), ""]).encode("utf-8")
    report = importer.import_bytes(con, content, "valeurs-2025.csv", ADMIN)
    assert report.outcome == "importe", report.problems
    return con


def granted(con, person: rights.Person, role: str, networks=(), structures=()) -> rights.Access:
    grants.grant(con, ADMIN, email=person.email, role=role, networks=networks, structures=structures)
    return rights.for_person(con, person)


def director(con) -> rights.Access:
    return granted(con, DIRECTRICE, rights.DIRECTOR, structures=("S-LYON",))


def network_head(con) -> rights.Access:
    return granted(con, TETE_CAF, rights.NETWORK_HEAD, networks=("CAF",))


def reader(con) -> rights.Access:
    return granted(con, LECTRICE, rights.READER, networks=("CAF",))


def stored(con) -> list[tuple]:
    return con.cursor().execute("SELECT * FROM improvement_action ORDER BY id").fetchall()


def journal(con, action: str) -> list[tuple]:
    """(who, subject, detail) of the audit log's lines with ``action``, oldest first."""
    return con.cursor().execute("SELECT who, subject, detail FROM audit_log WHERE action = ? ORDER BY logged_at",
                                [action]).fetchall()


def record(con, access, structure="S-LYON", title="Rappel des usagers en attente", indicators=("decroche",),
           start_on=date(2025, 4, 15), **more) -> int:
    return actions.add(con, access, structure, title, indicators, start_on, **more)


def test_a_director_records_an_action_for_their_structure_and_it_is_listed_with_its_labels(base):
    claire = director(base)
    number = record(base, claire, indicators=("decroche", "attente_guichet"), end_on="30/06/2025",
                    owner="Responsable de l'accueil", comment="Rappel sous 24 h\ndes appels perdus.")
    assert number == 1
    listed = actions.listing(base, claire)
    assert listed.to_dict("records") == [{
        "id": 1, "structure_code": "S-LYON", "structure_name": "Accueil de Lyon", "network": "CAF",
        "title": "Rappel des usagers en attente", "indicators": ["attente_guichet", "decroche"],  # the rules' order
        "indicator_labels": "Temps d'attente au guichet, Taux de décroché", "start_on": date(2025, 4, 15),
        "end_on": date(2025, 6, 30), "owner": "Responsable de l'accueil",
        "comment": "Rappel sous 24 h\ndes appels perdus.", "created_by": DIRECTRICE.label,
        "created_at": listed["created_at"].iloc[0]}]
    assert stored(base)[0][9] == "pc-claire"  # created_by_subject
    assert journal(base, actions.ADDED) == [(DIRECTRICE.label, "pc-claire", (
        "n° 1 : « Rappel des usagers en attente » pour S-LYON (Temps d'attente au guichet, Taux de décroché), "
        "du 15/04/2025 au 30/06/2025"))]


def test_a_director_is_refused_another_structure_as_an_unknown_one_and_nothing_is_written(base):
    claire = director(base)
    with pytest.raises(rights.AccessRefused) as refused:
        record(base, claire, structure="S-PARIS")
    assert str(refused.value) == "Action refusée : Structure inconnue : « S-PARIS »."
    assert stored(base) == []
    assert journal(base, actions.ADDED) == []
    assert journal(base, "refus")[-1] == (DIRECTRICE.label, "pc-claire", str(refused.value))


def test_a_network_head_records_for_their_networks_structures_only(base):
    paul = network_head(base)
    assert record(base, paul, structure="S-CAEN") == 1
    with pytest.raises(rights.AccessRefused, match="Structure inconnue : « S-PARIS »"):
        record(base, paul, structure="S-PARIS")
    assert [row[1] for row in stored(base)] == ["S-CAEN"]


def test_a_reader_sees_the_actions_of_their_scope_but_may_not_record_or_remove_one(base):
    number = record(base, ADMIN)
    lea = reader(base)
    assert actions.listing(base, lea)["id"].tolist() == [number]
    with pytest.raises(rights.AccessRefused) as refused:
        record(base, lea, structure="S-CAEN")
    assert str(refused.value) == ("Vous ne pouvez pas enregistrer une action pour la structure S-CAEN : vos droits "
                                  "sur elle sont en lecture seule.")
    with pytest.raises(rights.AccessRefused, match="retirer une action pour la structure S-LYON"):
        actions.remove(base, lea, number)
    assert len(stored(base)) == 1 and stored(base)[0][-1] is None


def test_nobody_lists_sees_or_removes_the_actions_outside_their_scope(base):
    lyon, paris = record(base, ADMIN), record(base, ADMIN, structure="S-PARIS")
    claire, paul = director(base), network_head(base)
    assert actions.listing(base, claire)["id"].tolist() == [lyon]
    assert actions.listing(base, paul)["id"].tolist() == [lyon]
    assert sorted(actions.listing(base, ADMIN)["id"]) == [lyon, paris]
    with pytest.raises(rights.AccessRefused, match="Structure inconnue : « S-PARIS »"):
        actions.listing(base, claire, structure="S-PARIS")
    for call in (lambda: actions.remove(base, claire, paris), lambda: actions.before_after(base, claire, paris)):
        with pytest.raises(actions.ActionError, match=f"^Aucune action n° {paris}.$"):
            call()
    assert [row[-1] for row in stored(base)] == [None, None]


def test_an_action_removed_is_kept_with_who_removed_it_leaves_the_list_and_is_journaled(base):
    claire = director(base)
    number = record(base, claire)
    assert actions.remove(base, claire, number) == ("Action n° 1 : « Rappel des usagers en attente » pour S-LYON "
                                                    "(Taux de décroché), du 15/04/2025 retirée.")
    assert actions.listing(base, claire).empty
    row = stored(base)[0]
    assert row[2] == "Rappel des usagers en attente" and row[11] == DIRECTRICE.label and row[12] is not None
    assert journal(base, actions.REMOVED) == [(DIRECTRICE.label, "pc-claire", (
        "n° 1 : « Rappel des usagers en attente » pour S-LYON (Taux de décroché), du 15/04/2025"))]
    with pytest.raises(actions.ActionError, match="^L'action n° 1 est déjà retirée \\(le .* par Claire Martin"):
        actions.remove(base, claire, number)
    # A network head removes an action of their network; the numbers go on (max + 1, never reused).
    paul = network_head(base)
    assert record(base, paul, structure="S-CAEN") == 2
    actions.remove(base, paul, 2)
    assert [who for who, _, _ in journal(base, actions.REMOVED)] == [DIRECTRICE.label, TETE_CAF.label]


def test_every_problem_of_an_action_is_said_in_french_at_once_and_nothing_changes(base):
    claire = director(base)
    before = (stored(base), journal(base, actions.ADDED))
    with pytest.raises(actions.ActionError) as refused:
        actions.add(base, claire, "S-LYON", "  ", ["decroche", "telephone", "accueil"], "2025-04-01", "01/03/2025",
                    owner="x" * 101, comment="y" * 2001)
    assert refused.value.messages == [
        "Indiquez le titre de l'action.",
        ("Indicateurs inconnus du référentiel en vigueur : « accueil », « telephone » (codes du référentiel : "
         "attente_guichet, decroche, delai_courriels, delai_courriers, delais_annonces, demarches_en_ligne_8, "
         "publication_resultats, satisfaction_globale)."),
        "La date de fin (01/03/2025) précède la date de début (01/04/2025).",
        "Le responsable dépasse 100 caractères (101) : raccourcissez-le.",
        f"Le commentaire dépasse 2{NNBSP}000 caractères (2{NNBSP}001) : raccourcissez-le."]
    with pytest.raises(actions.ActionError) as refused:
        actions.add(base, claire, "S-LYON", "t" * 201, [], None)
    assert refused.value.messages == ["Le titre dépasse 200 caractères (201) : raccourcissez-le.",
                                      "Indiquez au moins un indicateur visé par l'action.",
                                      "Indiquez la date de début de l'action."]
    with pytest.raises(actions.ActionError) as refused:
        actions.add(base, claire, "S-LYON", "Titre", "decroche", "31/02/2025", date(1850, 1, 1))
    assert refused.value.messages == [
        "Date de début illisible : « 31/02/2025 » (attendu : 31/03/2025 ou 2025-03-31).",
        "Date de fin impossible : 01/01/1850 (attendu : une année entre 1900 et 2199)."]
    assert isinstance(refused.value, ValueError)
    with pytest.raises(actions.ActionError, match="^Indiquez la structure de l'action.$"):
        actions.add(base, ADMIN, " ", "Titre", "decroche", "2025-04-01")
    assert (stored(base), journal(base, actions.ADDED)) == before


def test_the_before_after_of_an_action_is_the_engines_aggregate_over_3_months_each_side(base):
    number = record(base, ADMIN, indicators=("decroche", "attente_guichet"), start_on=date(2025, 4, 15))
    waiting, calls = actions.before_after(base, ADMIN, number)
    assert (calls.indicator_code, calls.before.start, calls.before.end, calls.after.start, calls.after.end) == (
        "decroche", date(2025, 1, 1), date(2025, 3, 31), date(2025, 4, 1), date(2025, 6, 30))
    assert calls.value_before == pytest.approx(81.0)  # 9 072 / 11 200
    assert calls.value_after == pytest.approx(100 * 10139 / 11900)  # 85,2017 %
    assert (calls.n_before, calls.n_after) == (11200, 11900)
    assert calls.change == pytest.approx(100 * 10139 / 11900 - 81)
    assert calls.improved is True and calls.direction_words == "dans le sens souhaité"
    assert calls.sentence == (f"Après l'action, +4,2 points de taux de décroché (de 81,0{NNBSP}% à 85,2{NNBSP}%, "
                              f"sur 11{NNBSP}200 puis 11{NNBSP}900 appels)")
    # A delay going down goes the right way: 18 → 15 minutes, weighted by the people received.
    assert (waiting.value_before, waiting.value_after, waiting.n_before, waiting.n_after) == (18, 15, 1200, 1300)
    assert waiting.improved is True
    assert waiting.sentence == ("Après l'action, \u22123,0 minutes de temps d'attente au guichet (de 18,0 minutes à "
                                f"15,0 minutes, sur un effectif de 1{NNBSP}200 puis 1{NNBSP}300)")
    # A row of the listing gives the same as the action's number.
    assert actions.before_after(base, ADMIN, actions.listing(base, ADMIN).iloc[0]) == [waiting, calls]
    # The same numbers as the engine's own assessment of each window.
    for window, value in ((calls.before, calls.value_before), (calls.after, calls.value_after)):
        engine = compliance.assess(base, window, ADMIN, structure="S-LYON").indicators
        assert engine.loc[engine["indicator_code"] == "decroche", "value"].item() == pytest.approx(value)


def test_without_3_months_of_data_on_each_side_there_is_no_comparison_and_it_says_why(base):
    # Started in June: July and August are not there yet. E-mails stop in March: nothing after April.
    june = record(base, ADMIN, indicators=("decroche",), start_on=date(2025, 6, 1))
    april = record(base, ADMIN, indicators=("delai_courriels", "publication_resultats"), start_on="2025-04-01")
    [calls] = actions.before_after(base, ADMIN, june)
    emails, published = actions.before_after(base, ADMIN, april)
    for missing in (calls, emails):
        assert not missing.compared and missing.value_before is None and missing.change is None
        assert missing.sentence == "Pas assez de recul : 3 mois de données avant et après le début sont nécessaires."
    assert published.sentence == actions.YES_NO


def test_a_survey_indicator_under_its_minimum_sample_or_across_quarters_is_not_compared(base):
    april = record(base, ADMIN, indicators=("satisfaction_globale",), start_on=date(2025, 4, 1))
    may = record(base, ADMIN, indicators=("satisfaction_globale",), start_on=date(2025, 5, 10))
    [small] = actions.before_after(base, ADMIN, april)
    assert small.sentence == ("Échantillon insuffisant : un effectif d'au moins 100 est nécessaire sur chacune des "
                              "deux périodes de 3 mois (60 avant, 140 après).")
    [across] = actions.before_after(base, ADMIN, may)  # February–April holds no whole quarter
    assert across.sentence == actions.PERIODS_ACROSS


def test_the_comparison_table_has_one_sortable_row_per_action_and_indicator_of_the_selection(base):
    first = record(base, ADMIN, indicators=("decroche", "delai_courriels"), start_on=date(2025, 4, 15))
    # Its 3 months before are S-LYON's 3 months after: one engine run serves both, S-LYON's comparison stays.
    paris = record(base, ADMIN, structure="S-PARIS", start_on=date(2025, 7, 1))
    record(base, ADMIN, structure="S-CAEN", start_on=date(2025, 2, 1))
    table = actions.comparison_table(base, ADMIN, ["S-LYON", "S-PARIS"])
    assert list(table.columns) == list(actions.TABLE_COLUMNS)
    assert table[["action_id", "indicator_code", "indicator_label"]].values.tolist() == [
        [first, "decroche", "Taux de décroché"], [first, "delai_courriels", "Délai de réponse aux courriels"],
        [paris, "decroche", "Taux de décroché"]]  # listing order: by structure
    table = table[table["structure_code"] == "S-LYON"].reset_index(drop=True)
    assert table["value_before"].dtype == "float64" and table["n_after"].dtype == "float64"
    assert table["value_before"].iloc[0] == pytest.approx(81.0) and table["n_after"].iloc[0] == 11900
    assert table["improved"].tolist() == [True, None]
    assert table["value_before"].isna().tolist() == [False, True]
    assert table["sentence"].iloc[1] == actions.NOT_ENOUGH_DATA
    assert table.sort_values("change", ascending=False)["indicator_code"].iloc[0] == "decroche"
    # A director's selection never reaches beyond what they see: asking for S-PARIS gives nothing.
    assert actions.comparison_table(base, director(base), ["S-PARIS"]).empty
    assert len(actions.comparison_table(base, ADMIN)) == 4
