"""Improvement actions on the pages: on Mon service, a structure's actions with their before/after and the form
that records one; on Comparaison, the actions of a selection, sortable. The rights are the domain's
(indicators/actions.py): a form shown to someone who may not use it for this structure is refused there."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators import actions, rights, text
from indicators.text import markdown_literal
from ui import access, widgets

_SAVED = "action_enregistree"  # the French confirmation of the last change, shown after the rerun
_FORMS = "formulaires_action"  # a new form (empty fields) after each recorded action


def section(code: str, rules: pd.DataFrame, who: rights.Access) -> None:
    """Mon service: the structure's actions, each with its before/after, then record or remove one."""
    st.markdown("#### Actions d'amélioration")
    if st.session_state.get(_SAVED):
        st.success(st.session_state.pop(_SAVED), icon=":material/check_circle:")
    version = access.data_version()
    listed = access.structure_actions(code, version, who)
    if listed.empty:
        st.caption("Aucune action enregistrée pour cette structure. Une action enregistrée (son début, les "
                   "indicateurs visés) est marquée sur leurs courbes, et comparée avant et après son début.")
    for row in listed.to_dict("records"):
        _show(row, access.action_comparisons(int(row["id"]), version, who))
    if not listed.empty:
        st.caption(actions.CAVEAT)
    if who.may_write:
        _record_form(code, rules, who)
        if not listed.empty:
            _remove_form(listed, who)


def _show(row: dict, comparisons: list[actions.Comparison]) -> None:
    with st.container(border=True):
        st.markdown(f"**Action n° {row['id']} · {markdown_literal(row['title'])}**")
        when = text.capital(actions.dates_words(row["start_on"], row["end_on"]))
        owner = f" · responsable : {markdown_literal(row['owner'])}" if isinstance(row["owner"], str) else ""
        st.caption(f"{when}{owner} · indicateurs visés : "
                   f"{markdown_literal(row['indicator_labels'])}")
        if isinstance(row["comment"], str) and row["comment"]:
            st.text(row["comment"])  # a person's text: shown as text, never as Markdown
        for comparison in comparisons:
            words = f", {comparison.direction_words}" if comparison.compared and comparison.direction_words else ""
            mark = {True: ":material/trending_up:", False: ":material/trending_down:"}.get(comparison.improved,
                                                                                         ":material/remove:")
            st.markdown(f"{mark} {markdown_literal(comparison.label)} : "
                        f"{markdown_literal(comparison.sentence)}{words}.")


def _record_form(code: str, rules: pd.DataFrame, who: rights.Access) -> None:
    labels = dict(zip(rules["code"], rules["label"]))
    number = st.session_state.get(_FORMS, 0)
    with st.expander("Enregistrer une action", icon=":material/add_task:"):
        with st.form(f"nouvelle_action_{number}"):
            title = st.text_input("Titre de l'action", max_chars=actions.MAX_TITLE)
            aimed = st.multiselect("Indicateurs visés", list(labels), format_func=labels.get,
                                   placeholder="Choisir un ou plusieurs indicateurs")
            start, end = st.columns(2)
            start_on = start.date_input("Début", value=None, format="DD/MM/YYYY")
            end_on = end.date_input("Fin (facultative)", value=None, format="DD/MM/YYYY")
            owner = st.text_input("Responsable (facultatif)", max_chars=actions.MAX_OWNER)
            comment = st.text_area("Commentaire (facultatif)", max_chars=actions.MAX_COMMENT)
            if not st.form_submit_button("Enregistrer l'action", type="primary"):
                return
        try:
            number_saved = actions.add(access.connection(), who, code, title, aimed, start_on, end_on, owner,
                                       comment)
        except actions.ActionError as refused:  # every problem at once; what was typed stays in the form
            st.error("\n".join(f"- {markdown_literal(message)}" for message in refused.messages),
                     icon=":material/error:")
            return
        except rights.AccessRefused as refused:
            st.error(markdown_literal(str(refused)), icon=":material/block:")
            return
    st.session_state[_FORMS] = number + 1
    st.session_state[_SAVED] = f"Action n° {number_saved} enregistrée."
    st.rerun()


def _remove_form(listed: pd.DataFrame, who: rights.Access) -> None:
    titles = {int(row["id"]): f"n° {row['id']} · {row['title']}" for row in listed.to_dict("records")}
    with st.expander("Retirer une action", icon=":material/delete:"):
        chosen = st.selectbox("Action à retirer", list(titles), format_func=titles.get, key="action_a_retirer")
        st.caption("Une action retirée n'est plus montrée ; elle reste dans le journal.")
        if not st.button("Retirer l'action", key="retirer_action"):
            return
        try:
            said = actions.remove(access.connection(), who, chosen)
        except (actions.ActionError, rights.AccessRefused) as refused:
            st.error(markdown_literal(str(refused)), icon=":material/block:")
            return
    st.session_state[_SAVED] = said
    st.rerun()


def comparison_section(codes: list[str], who: rights.Access) -> None:
    """Comparaison: the actions of the selection and their before/after, one row per action × indicator."""
    st.markdown("#### Actions d'amélioration de la sélection")
    table = access.actions_table(tuple(sorted(codes)), access.data_version(), who)
    if table.empty:
        st.caption("Aucune action enregistrée pour les structures de la sélection.")
        return
    # Numbers kept as numbers (the columns sort), rounded as the sentences write them, in the browser's French.
    shown = pd.DataFrame({
        "Structure": table["structure_code"], "Action": table["title"], "Début": pd.to_datetime(table["start_on"]),
        "Indicateur": table["indicator_label"], "Avant": table["value_before"].round(1),
        "Après": table["value_after"].round(1), "Écart": table["change"].round(1),
        "Sens": table["improved"].map({True: "souhaité", False: "contraire"}).fillna("–"),
        "Avant / après": table["sentence"]})
    st.dataframe(shown, hide_index=True, column_config={
        "Début": st.column_config.DateColumn(format="DD/MM/YYYY"),
        **{name: st.column_config.NumberColumn(format="localized") for name in ("Avant", "Après", "Écart")},
        "Avant / après": st.column_config.TextColumn(width="large")})
    actions_count = table["action_id"].nunique()
    compared = int(table["improved"].notna().sum())
    better = int((table["improved"] == True).sum())  # noqa: E712 (a column of True, False and None)
    st.caption(f"{text.format_count(actions_count, 'action')} ; {text.format_count(compared, 'comparaison')} "
               f"avant/après {text.plural(compared, 'possibles')}, dont {better} dans le sens souhaité. "
               f"{actions.CAVEAT}")
    widgets.method_link()
