"""Page « Import »: upload, preview, detected layout, validation report, confirm, history with undo.

Thin: widgets only; reading, checking, storing and undoing are indicators.importer's work, reached through
ui.access. Nothing is written before the user clicks « Importer »."""

from __future__ import annotations

import streamlit as st

from indicators import importer, mappings, rights
from indicators.import_files import (HISTORY_COUNTS, PREVIEW_DATES, PREVIEW_LABELS, PREVIEW_NUMBERS, display_name,
                                     file_facts, history_frame, not_offered_notice, preview_frame, problems_csv,
                                     problems_frame, safe_stem, template_csv, template_xlsx, undo_choices)
from indicators.problems import Problem
from indicators.text import format_count, format_number_fr, markdown_literal
from ui import access, frame
from ui import import_assistant as assistant

frame.require()

FILE_TYPES = ["csv", "txt", "xlsx", "xls", "ods"]
RATE_SCALES = {"auto": "Détection automatique", "0-1": "De 0 à 1 (0,853 = 85,3 %)", "0-100": "De 0 à 100"}
REPLACE_LABEL = "Remplacer les valeurs déjà enregistrées (les anciennes sont gardées en historique)"
# Widths that keep the report readable where it is narrow.
PROBLEM_WIDTHS = {"fichier": 110, "feuille": 70, "colonne": 110, "valeur trouvée": 110, "problème": 380,
                  "attendu": 300}
ASKED = ("structure_precisee", "colonne_reconnue")
UNEXPECTED = ("Une erreur inattendue est survenue{what}. Rien n'a été enregistré. Réessayez ; si le problème "
              "persiste, transmettez le fichier à l'administrateur du tableau de bord.")

state = st.session_state
state.setdefault("import_uploader", 0)      # bumped after an import: the uploader starts empty again
state.setdefault("import_digests", {})      # uploaded file id → SHA-256 of its content
state.setdefault("import_prepared", {})     # (SHA-256, rate scale) → Prepared, for one data version


def show_problems(problems: list[Problem], name: str, key: str) -> None:
    frame = problems_frame(problems)
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "ligne": st.column_config.TextColumn("ligne", width=55, alignment="right"),
        **{column: st.column_config.TextColumn(column, width=width) for column, width in PROBLEM_WIDTHS.items()}})
    st.download_button("Télécharger le rapport (CSV)", problems_csv(frame), f"problemes-{safe_stem(name)}.csv",
                       mime="text/csv", on_click="ignore", key=f"problems_{key}", icon=":material/download:")


def show_preview(report: importer.ImportReport) -> None:
    config = {name: st.column_config.TextColumn(label, alignment="right") if name in PREVIEW_NUMBERS else label
              for name, label in PREVIEW_LABELS.items()}
    config["source_line"] = st.column_config.NumberColumn("Ligne", format="%d")
    config.update({name: st.column_config.DateColumn(label, format="DD/MM/YYYY")
                   for name, label in PREVIEW_DATES.items()})
    referentiel = importer.catalog_of(access.connection()).referentiel
    st.dataframe(preview_frame(report.preview, referentiel), hide_index=True, width="stretch", column_config=config)


def read_uploads(files) -> importer.Batch:
    """Check each uploaded file, once per content, scale and state of the database."""
    version = access.data_version()
    if state.get("import_version") != version:
        state.import_prepared, state.import_version = {}, version
    state.import_digests = {f.file_id: state.import_digests.get(f.file_id) or importer.sha256_of(f.getvalue())
                            for f in files}
    sources = [importer.Source(display_name(f.name), f.getvalue(), sha256=state.import_digests[f.file_id],
                               choices=assistant.choices(state.import_digests[f.file_id])) for f in files]
    batch = importer.prepare(access.connection(), sources, state.get("import_rate_scale", "auto"),
                             cache=state.import_prepared,
                             reading=lambda name: st.spinner(f"Lecture et vérification de « {name} »…"))
    live = {source.sha256 for source in sources}
    state.import_prepared = {key: kept for key, kept in state.import_prepared.items() if key[0] in live}
    return batch


def describe_upload(upload: importer.Prepared, single: bool) -> None:
    report = upload.report
    with st.container(border=True):
        st.markdown(f"#### :material/description: {markdown_literal(report.filename)}")
        if not upload.offered:
            st.info(not_offered_notice(upload))
            return
        if upload.error is not None:
            st.error(UNEXPECTED.format(what=" pendant la lecture de ce fichier"))
            return
        if file_facts(report):
            st.markdown(file_facts(report))
        for warning in report.warnings:
            st.warning(markdown_literal(warning), icon=":material/warning:")
        assistant.ask(upload)
        # The questions above answer these two problems: the table lists only what the file must correct.
        problems = [p for p in report.problems if p.rule not in ASKED]
        if problems:
            st.error(f"{format_count(len(problems), 'problème')} : ce fichier ne peut pas être "
                     "importé. Corrigez-le puis déposez-le à nouveau, ou retirez-le de la liste.",
                     icon=":material/error:")
            show_problems(problems, report.filename, report.sha256[:16])
        elif report.problems:
            st.info("Répondez aux questions ci-dessus : le fichier est vérifié à chaque réponse.",
                    icon=":material/help:")
        elif upload.ready:
            st.markdown(":green[:material/check_circle:] **Fichier valide** : prêt à être importé.")
        if report.scope_note:
            st.info(markdown_literal(report.scope_note), icon=":material/public:")
        if report.preview is not None and report.preview.num_rows:
            shown = report.preview.num_rows
            rows = ("de la première ligne, telle qu'elle sera enregistrée" if shown == 1 else
                    f"des {format_number_fr(shown, 0)} premières lignes, telles qu'elles seront enregistrées")
            with st.expander(f"Aperçu {rows}", expanded=single):
                show_preview(report)


def run_import(batch: importer.Batch, replace: bool) -> list[importer.ImportReport] | None:
    try:
        with st.status("Import en cours…", expanded=True) as status:
            for upload in batch.ready:
                name, rows = markdown_literal(upload.report.filename), upload.report.rows_read
                st.write(f"« {name} » : {format_count(rows, 'ligne vérifiée')}.")
            st.write("Écriture dans la base, en une seule transaction (tous les fichiers ou aucun)…")

            def waiting() -> None:  # another session's import is being written: say why this one waits
                status.update(label="Un autre import est en cours… le vôtre attend son tour, rien n'est perdu.")

            results = importer.commit(access.connection(), batch, frame.access(), replace=replace, waiting=waiting)
            if importer.all_stored(results):
                status.update(label="Import terminé", state="complete", expanded=False)
            else:
                st.write("Refusé : la base est restée telle qu'elle était.")
                status.update(label="Import refusé : rien n'a été enregistré", state="error", expanded=False)
        return results
    except rights.AccessRefused as refused:  # nothing was written: the whole batch is refused
        st.error(markdown_literal(str(refused)), icon=":material/block:")
        return None
    except Exception:
        st.error(UNEXPECTED.format(what=" pendant l'import"))
        return None


def show_refusal(results: list[importer.ImportReport], replace: bool) -> None:
    st.error("L'import a été refusé : aucun fichier n'a été enregistré.")
    for report in results:
        if report.outcome == "refuse":
            st.error(markdown_literal(report.summary()))
            show_problems(report.problems, report.filename, f"store_{report.sha256[:16]}")
            if not replace and any(p.rule == "valeur_deja_enregistree" for p in report.problems):
                st.info(f"Ces lignes donnent une autre valeur que celle déjà enregistrée. Pour les remplacer, "
                        f"cochez « {REPLACE_LABEL} » puis relancez l'import : les anciennes valeurs restent en "
                        "historique et l'import pourra être annulé.")
        elif report.outcome == "deja_importe":
            st.info(markdown_literal(report.summary()))
        else:
            st.warning(markdown_literal(report.summary()))


def show_history() -> None:
    st.header("Historique des imports")
    message = state.pop("undo_message", None)
    if message:
        st.success(markdown_literal(message))
    imports = access.imports(frame.access())
    if imports.empty:
        st.caption("Aucun import pour l'instant.")
        return
    shown = history_frame(imports)
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "id": st.column_config.NumberColumn("N°", format="%d"),
        "created_at": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY HH:mm"),
        "filename": "Fichier", "layout": "Mise en page", "status": "État", "created_by": "Par",
        **{name: st.column_config.TextColumn(label, alignment="right") for name, label in HISTORY_COUNTS.items()},
    })

    choices = undo_choices(imports)
    if not choices:
        st.caption("Aucun import en vigueur à annuler.")
        return
    pick, act, _ = st.columns([3, 1, 1], vertical_alignment="bottom")
    choice = pick.selectbox("Import à annuler", list(choices), format_func=lambda number: choices[number][1])
    if act.button("Annuler l'import", icon=":material/undo:", width="stretch"):
        state.undo_pending = choice
    if state.get("undo_pending") != choice:
        return
    st.warning(f"Annuler l'import n°{choice} (« {markdown_literal(choices[choice][0])} ») ? Ses valeurs seront "
               "retirées de la base ; les valeurs et structures qu'il avait remplacées seront rétablies.")
    left, right, _ = st.columns([1, 1, 3])
    confirmed = left.button("Confirmer l'annulation", type="primary", width="stretch")
    kept = right.button("Ne pas annuler", width="stretch")
    if confirmed or kept:
        state.pop("undo_pending", None)
    if confirmed:
        try:
            state.undo_message = importer.undo(access.connection(), choice, frame.access())
        except importer.UndoRefused as refused:
            st.error(markdown_literal(str(refused)))
        except Exception:
            st.error(UNEXPECTED.format(what=" pendant l'annulation"))
    if kept or state.get("undo_message"):
        st.rerun()


def show_mappings() -> None:
    """The column mappings remembered for a spreadsheet's headers, and a way to forget one."""
    message = state.pop("mapping_message", None)
    saved = mappings.listing(access.connection(), frame.access())
    if saved.empty and not message:
        return
    st.header("Correspondances de colonnes enregistrées")
    if message:
        st.success(markdown_literal(message))
    if saved.empty:
        return
    st.caption("Retenues à la confirmation d'un import, elles s'appliquent d'elles-mêmes au fichier suivant qui a "
               "les mêmes en-têtes (le tableau de bord envoyé chaque mois).")
    st.dataframe(saved[["headers", "columns", "created_by", "used_at"]], hide_index=True, width="stretch",
                 column_config={"headers": "En-têtes du fichier", "columns": "Correspondances",
                                "created_by": "Par", "used_at": st.column_config.DatetimeColumn(
                                    "Dernier usage", format="DD/MM/YYYY HH:mm")})
    texts = dict(zip(saved["fingerprint"], saved["headers"]))
    pick, act = st.columns([4, 1], vertical_alignment="bottom")
    chosen = pick.selectbox("Correspondance à oublier", list(texts), format_func=texts.get, key="mapping_pick")
    if act.button("Oublier", icon=":material/delete:", width="stretch", key="mapping_forget"):
        state.mapping_message = mappings.forget(access.connection(), chosen, frame.access())
        st.rerun()


st.title("Import")
st.markdown(
    "Déposez les exports de vos indicateurs : **CSV** (séparateur `;`, `,` ou tabulation ; UTF-8 ou "
    "Windows-1252) ou classeur **Excel / OpenDocument** (`.xlsx`, `.xls`, `.ods`). La mise en page est "
    "reconnue d'après les en-têtes : format long du modèle ci-dessous, tableau large (une colonne par "
    "indicateur, comme le tableau de bord mensuel d'un service : s'il n'a pas de colonne de structure, la page "
    "demande laquelle), export SP+ « export-resultats », fichiers du baromètre, registre des structures.  \n"
    "Chaque fichier est vérifié en entier avant toute écriture, puis importé **en entier ou pas du tout**."
)
left, right, _ = st.columns([1, 1, 2])
left.download_button("Modèle vide (CSV)", template_csv(), "modele-indicateurs.csv", mime="text/csv",
                     on_click="ignore", icon=":material/download:", width="stretch",
                     help="Séparateur `;`, UTF-8 avec BOM, virgule décimale, dates AAAA-MM-JJ.")
right.download_button("Modèle vide (Excel)", template_xlsx(), "modele-indicateurs.xlsx",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      on_click="ignore", icon=":material/download:", width="stretch",
                      help="Une feuille, en-tête en gras et figé.")

files = st.file_uploader("Fichiers à importer", type=FILE_TYPES, accept_multiple_files=True,
                         key=f"import_files_{state.import_uploader}",
                         help="Plusieurs fichiers à la fois : ils sont importés ensemble, tous ou aucun.")

results_shown = state.get("import_results")
if files:
    state.pop("import_results", None)
else:
    state.import_prepared, state.import_digests = {}, {}
if not files and results_shown:
    for outcome, summary in results_shown:
        (st.success if outcome == importer.STATUS_IMPORTED else st.info)(markdown_literal(summary))

if files:
    st.radio("Échelle des taux", list(RATE_SCALES), format_func=RATE_SCALES.get, key="import_rate_scale",
             horizontal=True, help="Automatique : un indicateur dont toutes les valeurs du fichier sont "
             "entre 0 et 1 est lu comme une proportion (0,853 = 85,3 %), avec un avertissement.")
    batch = read_uploads(files)
    for upload in batch.files:
        describe_upload(upload, single=len(batch.files) == 1)

    ready = batch.ready
    refusal = importer.rights_problem(access.connection(), frame.access(), batch) if ready else None
    if refusal:  # said before the click; indicators/ refuses it again at the import, whoever calls it
        st.error(markdown_literal(refusal), icon=":material/block:")
    replace = st.checkbox(REPLACE_LABEL, key="import_replace")
    blocked = batch.blocked or refusal is not None
    if blocked:
        st.caption("Le bouton d'import s'active quand chaque fichier déposé est valide : corrigez les fichiers "
                   "signalés, ou retirez-les de la liste.")
    elif not batch.offered:
        st.caption("Aucun nouveau fichier à importer.")
    clicked = st.button(f"Importer {format_count(len(ready), 'fichier')}", type="primary",
                        disabled=blocked or not ready, icon=":material/upload:")
    if clicked:
        results = run_import(batch, replace)
        if results is not None and importer.all_stored(results):
            state.import_results = [(r.outcome, r.summary()) for r in results]
            state.import_uploader += 1
            state.import_prepared = {}
            state.import_digests = {}
            st.rerun()
        if results is not None:
            show_refusal(results, replace)

st.divider()
try:
    show_mappings()
    show_history()
except Exception:
    st.error(UNEXPECTED.format(what=" pendant la lecture de l'historique"))
