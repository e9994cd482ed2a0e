"""Page « Accès » (administrators): the grants in force, grant one, revoke one, import a file of grants, and the
journal of sign-ins, changes and refusals.

Thin: every check, every write and every refusal is indicators.grants' work; the page only draws and words."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators import grants, rights
from indicators.import_files import display_name
from indicators.text import markdown_literal
from ui import access, frame

frame.require()

MESSAGE = "acces_message"
PENDING = "acces_retrait_en_attente"  # the grant whose revocation waits for its confirmation
state = st.session_state
state.setdefault("acces_formulaire", 0)  # bumped after a grant: the form starts empty again
state.setdefault("acces_fichier", 0)  # bumped after an import: the uploader starts empty again

NOT_SIGNED_IN = "pas encore connecté"
SCOPE_HELP = ("Tête de réseau : un ou plusieurs réseaux. Directeur : une ou plusieurs structures. Lecteur : des "
              "réseaux ou des structures. Administrateur : tout le programme, sans réseau ni structure.")


def show_refusal(messages: list[str], intro: str) -> None:
    st.error(intro + "\n" + "\n".join(f"- {markdown_literal(message)}" for message in messages),
             icon=":material/error:")


def when(moments: pd.Series) -> pd.Series:
    """« 08/07/2026 14:05 », empty without a moment."""
    return pd.to_datetime(moments).dt.strftime("%d/%m/%Y %H:%M").fillna("")


def grants_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The grants as people read them: the person, the role and the scope in words."""
    return pd.DataFrame({
        "id": table["id"],
        "personne": [grants.person_label(e, s) for e, s in zip(table["email"], table["subject"])],
        "role": table["role"].map(lambda role: rights.ROLE_WORDS.get(role, role)),
        "perimetre": [grants.scope_label(r, n, s) for r, n, s in
                      zip(table["role"], table["networks"], table["structures"])],
        "granted_by": table["granted_by"].fillna(""),
        "granted_at": when(table["granted_at"]),
        "revoked_by": table["revoked_by"].fillna(""),  # a grant in force: empty, never « None »
        "revoked_at": when(table["revoked_at"]),
        "subject": table["subject"].map(lambda subject: subject if isinstance(subject, str) else NOT_SIGNED_IN),
    })


GRANT_COLUMNS = {
    "id": st.column_config.NumberColumn("N°", format="%d", width=50),
    "personne": "Personne", "role": "Rôle", "perimetre": "Périmètre", "granted_by": "Accordé par",
    "granted_at": "Le", "revoked_by": "Retiré par", "revoked_at": "Retiré le",
    "subject": st.column_config.TextColumn("Identifiant (fournisseur)",
                                           help="Rempli à la première connexion de la personne."),
}

JOURNAL_COLUMNS = {
    "logged_at": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY HH:mm:ss"), "action": "Action",
    "who": "Par", "subject": "Identifiant (fournisseur)",
    "import_id": st.column_config.TextColumn("Import n°", alignment="right"), "detail": "Détail",
}


st.title("Accès")
con = access.connection()
who = frame.access()

if MESSAGE in state:
    st.success(markdown_literal(state.pop(MESSAGE)), icon=":material/check_circle:")

with_revoked = st.toggle("Afficher aussi les droits retirés", key="acces_avec_retires")
try:
    table = grants.list_grants(con, who, include_revoked=with_revoked)
    networks, structures = grants.choices(con, who)
except rights.AccessRefused as refused:
    st.error(markdown_literal(str(refused)), icon=":material/block:")
    st.stop()

st.header("Droits en vigueur" if not with_revoked else "Tous les droits")
if table.empty:
    st.caption("Aucun droit en vigueur. Avant d'activer la connexion, accordez le rôle « administrateur » à votre "
               "adresse e-mail : une fois la connexion activée, seules les personnes qui ont un droit entrent.")
else:
    shown = grants_frame(table)
    columns = [c for c in shown.columns if with_revoked or c not in ("revoked_by", "revoked_at")]
    st.dataframe(shown[columns], hide_index=True, width="stretch", column_config=GRANT_COLUMNS)

st.header("Accorder un droit")
structure_names = dict(zip(structures["code"], structures["name"]))
with st.form(f"acces_accorder_{state.acces_formulaire}"):
    email = st.text_input("Adresse e-mail", placeholder="prenom.nom@caf.fr",
                          help="Celle du compte d'agent de la personne : elle la retrouve à sa première connexion.")
    subject = st.text_input("Ou son identifiant chez le fournisseur d'identité",
                            help="Quand le fournisseur ne transmet pas l'adresse : la page « Pas encore d'accès » "
                                 "affiche cet identifiant à la personne.")
    role = st.selectbox("Rôle", rights.ROLES, format_func=rights.ROLE_WORDS.get, index=None,
                        placeholder="Choisissez un rôle")
    chosen_networks = st.multiselect("Réseaux", networks, help=SCOPE_HELP, placeholder="Aucun réseau")
    chosen_structures = st.multiselect(
        "Structures", list(structure_names), help=SCOPE_HELP, placeholder="Aucune structure",
        format_func=lambda code: f"{code} – {structure_names[code]}" if structure_names.get(code) else code)
    if st.form_submit_button("Accorder", type="primary", icon=":material/person_add:"):
        try:
            grant_id = grants.grant(con, who, email=email, subject=subject.strip() or None, role=role,
                                    networks=chosen_networks, structures=chosen_structures)
        except grants.GrantError as error:
            show_refusal(error.messages, "Le droit n'a pas été accordé :")
        else:
            state[MESSAGE] = f"Droit n° {grant_id} accordé : {grants.describe(con, who, grant_id)}."
            state.acces_formulaire += 1
            st.rerun()

st.header("Retirer un droit")
in_force = table[table["revoked_at"].isna()]
if in_force.empty:
    st.caption("Aucun droit à retirer.")
else:
    labels = {row["id"]: f"n° {row['id']} – " + grants.summary(row["role"], row["email"], row["subject"],
                                                                row["networks"], row["structures"])
              for row in in_force.to_dict("records")}
    chosen = st.selectbox("Droit à retirer", list(labels), format_func=labels.get, key="acces_a_retirer")
    if st.button("Retirer ce droit…", icon=":material/person_remove:", key="acces_retirer"):
        state[PENDING] = chosen
    if state.get(PENDING) in labels:
        subject = in_force.set_index("id").loc[state[PENDING], "subject"]
        warning = " C'est l'un de vos propres droits." if who.person.subject and subject == who.person.subject else ""
        st.warning(f"Retirer le droit {markdown_literal(labels[state[PENDING]])} ? La personne perd cet accès dès sa "
                   f"prochaine action ; le droit reste dans l'historique.{warning}", icon=":material/warning:")
        confirm, cancel = st.columns(2)
        if confirm.button("Confirmer le retrait", type="primary", key="acces_confirmer"):
            try:
                state[MESSAGE] = grants.revoke(con, who, int(state.pop(PENDING)))
            except grants.GrantError as error:
                show_refusal(error.messages, "Le droit n'a pas été retiré :")
            else:
                st.rerun()
        if cancel.button("Annuler", key="acces_annuler"):
            state.pop(PENDING, None)
            st.rerun()

st.header("Importer un fichier de droits")
st.write("Un fichier CSV avec les colonnes **email**, **role**, **reseaux**, **structures** (plusieurs réseaux "
         "ou structures séparés par « | »). Tout le fichier est vérifié avant d'enregistrer quoi que ce soit : une "
         "seule ligne fausse, et rien n'est enregistré. Les droits déjà en vigueur restent tels quels.")
st.download_button("Télécharger le modèle (CSV)", grants.template_csv(), "modele-droits.csv", mime="text/csv",
                   on_click="ignore", icon=":material/download:", key="acces_modele")
upload = st.file_uploader("Fichier de droits", type=["csv", "txt"], key=f"acces_fichier_{state.acces_fichier}")
if upload is not None and st.button("Importer les droits", type="primary", key="acces_importer"):
    try:
        result = grants.import_grants(con, who, upload.getvalue(), display_name(upload.name))
    except grants.GrantError as error:
        st.error("Aucun droit n'a été enregistré : corrigez le fichier puis importez-le de nouveau.",
                 icon=":material/error:")
        st.dataframe(pd.DataFrame({"problème": error.messages}), hide_index=True, width="stretch")
    else:
        state[MESSAGE] = result.message
        state.acces_fichier += 1
        st.rerun()

st.header("Journal")
st.caption("Connexions, droits accordés et retirés, refus, imports, annulations et changements du référentiel ; "
           f"les {grants.JOURNAL_LINES} plus récents, le plus récent d'abord.")
journal = grants.journal(con, who)
actions = st.multiselect("Actions", sorted(journal["action"].unique()), placeholder="Toutes les actions",
                         key="acces_actions")
if actions:
    journal = journal[journal["action"].isin(actions)]
# Text, not numbers: an empty cell stays empty rather than « None ».
st.dataframe(journal.assign(subject=journal["subject"].fillna(""), who=journal["who"].fillna(""),
                            import_id=journal["import_id"].map(lambda n: "" if pd.isna(n) else str(int(n)))),
             hide_index=True, width="stretch", column_config=JOURNAL_COLUMNS)
