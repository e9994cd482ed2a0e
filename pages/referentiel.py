"""Page « Référentiel »: the version in force and the older ones, the engagements by theme, every
indicator with its thresholds and where they come from, and versioned edits (a save creates a new version
put in force; the version it started from stays as it was and can be put back in force)."""

import pandas as pd
import streamlit as st

from indicators import referentiel_versions as rv
from indicators import rights
from indicators.method import method_markdown
from indicators.referentiel import LEVELS
from indicators.text import (DIRECTION_WORDS, ENGAGEMENT_THEMES, KIND_WORDS, REFERENTIEL_ORIGIN_WORDS, format_date,
                             format_number_fr, markdown_literal, plural, theme_title, yes_no)
from ui import access, frame

frame.require()

VIEW = "referentiel_vue"
NEXT_VIEW = "referentiel_vue_suivante"
MESSAGE = "referentiel_message"
TITLE = "referentiel_titre"


def provenance(text) -> str:
    """The provenance as stored, starting with its kind in words: « officiel … », « source publique : … »,
    « défaut … » or « modifié par … »."""
    text = text.strip() if isinstance(text, str) and text.strip() else "défaut"
    if rv.provenance_kind(text) == "source publique" and not text.lower().startswith("officiel"):
        return f"source publique : {text}"
    return text


def thresholds_provenance(row) -> str:
    """The three provenances in one cell, identical ones grouped, shortest first so that a narrow column still
    shows every kind: « bronze, or : défaut · argent : officiel : cible du plan téléphone (≥ 85 %) »."""
    groups: dict[str, list[str]] = {}
    for level in LEVELS:
        groups.setdefault(provenance(row[f"provenance_{level}"]), []).append(level)
    if len(groups) == 1:
        return f"{next(iter(groups))} (les trois seuils)"
    return " · ".join(f"{', '.join(levels)} : {text}" for text, levels in sorted(groups.items(),
                                                                                 key=lambda g: len(g[0])))


def version_label(row) -> str:
    state = " · en vigueur" if row["in_force"] else ""
    return f"{row['version']} – {row['title']}{state}"


st.title("Référentiel")
con = access.connection()
who = frame.access()

if MESSAGE in st.session_state:
    st.success(st.session_state.pop(MESSAGE))
if NEXT_VIEW in st.session_state:  # set before a rerun: widgets' state can only change before they exist
    st.session_state[VIEW] = st.session_state.pop(NEXT_VIEW)
    st.session_state[TITLE] = ""

versions = rv.versions(con)
labels = {row["version"]: version_label(row) for row in versions.to_dict("records")}
in_force = versions.loc[versions["in_force"], "version"].iloc[0]
in_force_row = versions.set_index("version").loc[in_force]

st.markdown(f"**Version en vigueur : {in_force}** – {markdown_literal(in_force_row['title'])} "
            f"({REFERENTIEL_ORIGIN_WORDS.get(in_force_row['origin'], in_force_row['origin'])}, "
            f"le {format_date(in_force_row['created_at'])} à {in_force_row['created_at']:%H:%M}).")
st.info("Chaque résultat (pages « Mon service » et « Comparaison », commande `status`, exports) indique la "
        "version du référentiel qui a servi à le calculer : une modification des seuils ne change jamais en "
        "silence un résultat déjà publié.")

if st.session_state.get(VIEW) not in labels:
    st.session_state[VIEW] = in_force
viewed = st.selectbox("Version affichée", list(labels), key=VIEW, format_func=labels.get,
                      help="Les versions précédentes restent consultables et peuvent être remises en vigueur.")
if viewed != in_force:
    st.warning(f"Vous consultez la version {viewed}, qui n'est pas en vigueur : les résultats sont calculés "
               f"avec la version {in_force}.")
    if who.admin and st.button(f"Remettre la version {viewed} en vigueur", key="referentiel_remettre"):
        rv.set_in_force(con, viewed, who)
        st.session_state[MESSAGE] = f"La version {viewed} est de nouveau en vigueur (à la place de {in_force})."
        st.session_state[NEXT_VIEW] = viewed
        st.rerun()

with st.expander(f"Historique des versions ({len(versions)})"):
    history = versions.assign(origin=versions["origin"].map(lambda o: REFERENTIEL_ORIGIN_WORDS.get(o, o)),
                              in_force=versions["in_force"].map(yes_no))
    st.dataframe(history, hide_index=True, alt="Versions du référentiel", column_config={
        "version": "Version", "title": "Titre", "origin": "Origine",
        "created_at": st.column_config.DatetimeColumn("Créée le", format="DD/MM/YYYY HH:mm"),
        "in_force": "En vigueur"})

rules = rv.thresholds(con, viewed)
engagements = rv.engagements(con, viewed)

# --- Engagements, by theme ------------------------------------------------------------------------------
st.header(f"Les {len(engagements)} engagements")
themes = [t for t in ENGAGEMENT_THEMES if t in set(engagements["theme"])]
themes += [t for t in engagements["theme"].unique() if t not in themes]
for column, theme in zip(st.columns(len(themes) or 1), themes):
    with column:
        st.subheader(theme_title(theme))
        for engagement in engagements[engagements["theme"] == theme].to_dict("records"):
            with st.container(border=True):
                st.markdown(f"**Engagement {engagement['number']}** · {engagement['label']}")
                own = rules[rules["engagement"] == engagement["number"]]
                if own.empty:
                    st.caption("Aucun indicateur pour cet engagement dans cette version du référentiel.")
                else:
                    st.markdown("\n".join(f"- {row['label']} (`{row['code']}`)"
                                          + ("" if row["required"] else " – facultatif")
                                          for row in own.to_dict("records")))
orphans = rules[rules["engagement"].isna()]
if not orphans.empty:
    st.caption("Indicateurs sans engagement : " + ", ".join(orphans["label"]) + ".")

# --- Indicators and thresholds ---------------------------------------------------------------------------
st.header("Indicateurs et seuils")
kinds = pd.Series([rv.provenance_kind(rules.loc[i, f"provenance_{level}"]) for i in rules.index for level in LEVELS])
n_public, n_default, n_edited = ((kinds == kind).sum() for kind in ("source publique", "défaut", "modifié"))
rely = plural(n_public, "s'appuie", "s'appuient")
st.markdown(f"Sur les {format_number_fr(len(kinds), 0)} seuils de la version {viewed} : **{n_public}** {rely} sur "
            f"une source publique (cible officielle ou règle du label Marianne), **{n_default}** "
            f"{plural(n_default, 'est une valeur', 'sont des valeurs')} **par défaut** à ajuster et **{n_edited}** "
            f"{plural(n_edited, 'a été modifié', 'ont été modifiés')} par un administrateur. Les seuils de "
            "l'audit du label ne sont pas publiés : la colonne « Provenance des seuils » dit d'où vient chacun.")
table = pd.DataFrame({
    "label": rules["label"],
    **{level: [rv.format_value(v, u) for v, u in zip(rules[level], rules["unit"])] for level in LEVELS},
    "provenance": [thresholds_provenance(row) for row in rules.to_dict("records")],
    "engagement": rules["engagement"],
    "unit": rules["unit"],
    "direction": rules["direction"].map(lambda d: DIRECTION_WORDS.get(d, d)),
    "periodicity": rules["periodicity"],
    "required": rules["required"].map(yes_no),
    "min_n": rules["min_n"].map(lambda n: "–" if pd.isna(n) else rv.format_value(n)),
    "min_n_provenance": [provenance(p) if not pd.isna(n) or (isinstance(p, str) and p) else "–"
                         for n, p in zip(rules["min_n"], rules["min_n_provenance"])],
    "kind": rules["kind"].map(lambda k: KIND_WORDS.get(k, k)),
    "code": rules["code"],
})
st.dataframe(table, hide_index=True, alt=f"Indicateurs, seuils et provenance de la version {viewed}", column_config={
    "label": st.column_config.TextColumn("Indicateur", pinned=True, width=290),
    "engagement": st.column_config.NumberColumn("Eng.", help="Numéro de l'engagement"),
    **{level: st.column_config.TextColumn(level.capitalize(), width=110) for level in LEVELS},
    "provenance": st.column_config.TextColumn("Provenance des seuils", width=520),
    "unit": "Unité", "direction": "Sens", "periodicity": "Périodicité", "required": "Obligatoire",
    "min_n": st.column_config.TextColumn("Effectif min.", help="Taille minimale de l'échantillon pour que la "
                                         "valeur compte (– : pas de minimum)"),
    "min_n_provenance": st.column_config.TextColumn("Provenance effectif min.", width="large"),
    "kind": "Calcul", "code": "Code",
})
st.caption("Un seuil est atteint quand la valeur est au moins égale (plus haut = mieux) ou au plus égale "
           "(plus bas = mieux) ; le niveau d'une structure est le plus bas de ses indicateurs obligatoires. "
           "Provenance : « officiel » ou « source publique » = cible ou règle publiée ; « défaut » = valeur "
           "de l'équipe produit, à ajuster ; « modifié par … » = changé par un administrateur (qui, quand, "
           "valeur précédente).")

# --- Method ---------------------------------------------------------------------------------------------
st.header("Méthode de calcul")
st.markdown(method_markdown())  # docs/methode.md: the Excel report's « Méthode » sheet writes the same text

# --- Versioned edit ------------------------------------------------------------------------------------
st.header("Modifier les seuils")
if not who.admin:  # indicators/ refuses the change anyway (rights.require_admin); this spares a useless form
    st.caption("Seuls les administrateurs du programme modifient le référentiel.")
    st.stop()
st.markdown(f"Les modifications partent de la version affichée (**{viewed}**) et créent une **nouvelle "
            "version**, mise en vigueur ; aucune version existante n'est modifiée. Seuls les seuils, le "
            "caractère obligatoire et l'effectif minimum se modifient ici.")
editable = pd.DataFrame({
    "code": rules["code"], "label": rules["label"], "unit": rules["unit"],
    "direction": rules["direction"].map(lambda d: DIRECTION_WORDS.get(d, d)),
    # Numbers as French text (« 2,5 »): a NumberColumn would follow the browser's English locale; the
    # validation reads a decimal comma or point alike.
    **{level: [rv.format_value(v) for v in rules[level]] for level in LEVELS},
    "required": rules["required"].astype(bool),
    "min_n": [None if pd.isna(n) else rv.format_value(n) for n in rules["min_n"]],
})
threshold_help = "Un nombre (virgule décimale) ; taux entre 0 et 100 ; oui/non : 1 = oui, 0 = non."
edited = st.data_editor(
    editable, key=f"referentiel_editeur_{viewed}", hide_index=True, num_rows="fixed",
    column_order=["label", "unit", "direction", "bronze", "argent", "or", "required", "min_n"],
    placeholder="aucun", alt="Seuils, caractère obligatoire et effectif minimum, modifiables",
    disabled=["code", "label", "unit", "direction"],
    column_config={
        "code": "Code", "label": st.column_config.TextColumn("Indicateur", pinned=True), "unit": "Unité",
        "direction": "Sens",
        **{level: st.column_config.TextColumn(level.capitalize(), help=threshold_help, required=True,
                                              alignment="right") for level in LEVELS},
        "required": st.column_config.CheckboxColumn("Obligatoire"),
        "min_n": st.column_config.TextColumn("Effectif min.", alignment="right",
                                             help="Entier positif ; vide (« aucun ») : pas de minimum."),
    },
)
title = st.text_input("Titre de la nouvelle version", key=TITLE,
                      placeholder="Par exemple : seuils du réseau des CAF 2026")
st.caption("La provenance des seuils modifiés portera votre nom : " + markdown_literal(who.who) + ".")
if st.button("Enregistrer une nouvelle version", type="primary", key="referentiel_enregistrer"):
    try:
        name = rv.save_version(con, edited, title, who, base=viewed)
    except rv.ReferentielError as refused:
        st.error("Aucune version n'a été enregistrée :\n\n" + "\n".join(f"- {m}" for m in refused.messages))
    except rights.AccessRefused as refused:
        st.error(markdown_literal(str(refused)))
    else:
        st.session_state[MESSAGE] = (f"Nouvelle version {name} enregistrée et mise en vigueur "
                                     f"(à partir de la version {viewed}, qui reste inchangée).")
        st.session_state[NEXT_VIEW] = name
        st.rerun()
