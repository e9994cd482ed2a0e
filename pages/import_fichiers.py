"""Page « Import »: upload, preview, detected layout, validation report, confirm, history with undo.

Thin: widgets only; reading, checking, storing and undoing are indicators.importer's work, reached through
indicators.ui.access. Nothing is written before the user clicks « Importer »."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from openpyxl import Workbook
from openpyxl.styles import Font

from indicators import importer
from indicators.export import template_table
from indicators.problems import Problem
from indicators.text import format_number_fr, markdown_literal, neutralize_formula
from indicators.ui import access, frame

frame.require()

FILE_TYPES = ["csv", "txt", "xlsx", "xls", "ods"]
RATE_SCALES = {"auto": "Détection automatique", "0-1": "De 0 à 1 (0,853 = 85,3 %)", "0-100": "De 0 à 100"}
REPLACE_LABEL = "Remplacer les valeurs déjà enregistrées (les anciennes sont gardées en historique)"
# The message comes before what was expected: the table stays readable where it is narrow.
PROBLEM_COLUMNS = {"file": "fichier", "sheet": "feuille", "line": "ligne", "column": "colonne",
                   "value": "valeur trouvée", "message": "problème", "expected": "attendu"}
PREVIEW_LABELS = {
    "structure_code": "Code structure", "indicator_code": "Indicateur", "value": "Valeur",
    "numerator": "Numérateur", "denominator": "Dénominateur", "sample_size": "Effectif",
    "expected_value": "Valeur attendue", "source_line": "Ligne", "code": "Code", "name": "Nom",
    "network": "Réseau", "typologie": "Typologie", "departement": "Département", "region": "Région",
    "parent_code": "Structure parente", "label_level": "Niveau de label",
}
PREVIEW_DATES = {"period_start": "Début de période", "period_end": "Fin de période",
                 "label_awarded_on": "Label attribué le"}
UNEXPECTED = ("Une erreur inattendue est survenue{what}. Rien n'a été enregistré. Réessayez ; si le problème "
              "persiste, transmettez le fichier à l'administrateur du tableau de bord.")

state = st.session_state
state.setdefault("import_uploader", 0)      # bumped after an import: the uploader starts empty again
state.setdefault("import_digests", {})      # uploaded file id → SHA-256 of its content
state.setdefault("import_prepared", {})     # (SHA-256, rate scale, data version) → Prepared


@dataclass
class Upload:
    """One uploaded file and what the page knows of it."""

    name: str
    sha256: str
    prepared: importer.Prepared | None = None
    already: int | None = None          # import n° that brought the same content
    duplicate_of: str | None = None     # an earlier file of this upload with the same content
    failed: bool = False                # reading it raised an unexpected error

    @property
    def offered(self) -> bool:
        return self.already is None and self.duplicate_of is None

    @property
    def valid(self) -> bool:
        return not self.failed and self.prepared is not None and self.prepared.ready


def display_name(name: str) -> str:
    """The uploaded name is metadata: its last component, without control characters, bounded."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-200:] or "fichier sans nom"


def safe_stem(name: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return re.sub(r"[^\w.-]+", "_", stem).strip("._")[:80] or "fichier"


@st.cache_data(show_spinner=False)
def template_csv() -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow(template_table().column_names)
    return out.getvalue().encode("utf-8-sig")


@st.cache_data(show_spinner=False)
def template_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "valeurs"
    names = template_table().column_names
    sheet.append(names)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell, name in zip(sheet[1], names):
        sheet.column_dimensions[cell.column_letter].width = max(14, len(name) + 4)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    frame = pd.DataFrame([p.as_dict() for p in problems], columns=[*PROBLEM_COLUMNS, "rule"])
    frame = frame[list(PROBLEM_COLUMNS)].rename(columns=PROBLEM_COLUMNS)
    text = [c for c in frame.columns if c != "ligne"]
    frame[text] = frame[text].astype(object).where(frame[text].notna(), "")
    frame["ligne"] = frame["ligne"].astype("Int64")
    return frame


def problems_csv(frame: pd.DataFrame) -> bytes:
    """The validation report for a spreadsheet: `;`, UTF-8 with BOM, no cell a spreadsheet would run."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow(["" if pd.isna(cell) else neutralize_formula(cell) if isinstance(cell, str) else cell
                         for cell in row])
    return out.getvalue().encode("utf-8-sig")


def show_problems(problems: list[Problem], name: str, key: str) -> None:
    frame = problems_frame(problems)
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "fichier": st.column_config.TextColumn("fichier", width=110),
        "feuille": st.column_config.TextColumn("feuille", width=70),
        "ligne": st.column_config.NumberColumn("ligne", format="%d", width=55),
        "colonne": st.column_config.TextColumn("colonne", width=110),
        "valeur trouvée": st.column_config.TextColumn("valeur trouvée", width=110),
        "problème": st.column_config.TextColumn("problème", width=380),
        "attendu": st.column_config.TextColumn("attendu", width=300)})
    st.download_button("Télécharger le rapport (CSV)", problems_csv(frame), f"problemes-{safe_stem(name)}.csv",
                       mime="text/csv", on_click="ignore", key=f"problems_{key}", icon=":material/download:")


def french_number(value) -> str:
    """A stored number as the user wrote it, in French: 85.3 → « 85,3 », 1000 → « 1 000 », empty → «  »."""
    if value is None or pd.isna(value):
        return ""
    text = format_number_fr(value, 9)
    return text.rstrip("0").rstrip(",") if "," in text else text


def show_preview(report: importer.ImportReport) -> None:
    frame = report.preview.to_pandas()
    if "source_line" in frame:
        frame = frame.sort_values("source_line", kind="stable")
    keep = [c for c in frame.columns if c in ("source_line", "structure_code", "indicator_code", "value", "code")
            or frame[c].notna().any()]
    if "source_line" in keep:
        keep = ["source_line", *[c for c in keep if c != "source_line"]]
    frame = frame[keep].copy()
    for name in ("value", "numerator", "denominator", "sample_size", "expected_value"):
        if name in frame:
            frame[name] = frame[name].map(french_number)
    config = {name: st.column_config.TextColumn(label, alignment="right")
              if name in ("value", "numerator", "denominator", "sample_size", "expected_value") else label
              for name, label in PREVIEW_LABELS.items()}
    config["source_line"] = st.column_config.NumberColumn("Ligne", format="%d")
    config.update({name: st.column_config.DateColumn(label, format="DD/MM/YYYY")
                   for name, label in PREVIEW_DATES.items()})
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)


def read_uploads(files) -> list[Upload]:
    """Hash and check each uploaded file, once per content, scale and state of the database."""
    con = access.connection()
    scale = state.get("import_rate_scale", "auto")
    version = access.data_version()
    uploads, seen, kept = [], {}, {}
    for file in files:
        name = display_name(file.name)
        sha = state.import_digests.get(file.file_id)
        if sha is None:
            sha = state.import_digests[file.file_id] = importer.sha256_of(file.getvalue())
        upload = Upload(name, sha)
        uploads.append(upload)
        if sha in seen:
            upload.duplicate_of = seen[sha]
            continue
        seen[sha] = name
        try:
            upload.already = importer.find_active_import(con, sha)
            if upload.already is not None:
                continue
            key = (sha, scale, version)
            prepared = state.import_prepared.get(key)
            if prepared is None:
                with st.spinner(f"Lecture et vérification de « {name} »…"):
                    prepared = importer.prepare(con, file.getvalue(), name, scale, sha256=sha)
                # The raw table is not needed to store: keep only what the import uses.
                prepared = dataclasses.replace(prepared, raw=None)
            kept[key] = prepared
            upload.prepared = prepared
        except Exception:
            upload.failed = True
    state.import_prepared = kept
    live = {file.file_id for file in files}
    state.import_digests = {k: v for k, v in state.import_digests.items() if k in live}
    return uploads


def describe_upload(upload: Upload, single: bool) -> None:
    with st.container(border=True):
        st.markdown(f"#### :material/description: {markdown_literal(upload.name)}")
        if upload.duplicate_of is not None:
            st.info(f"Même contenu que « {markdown_literal(upload.duplicate_of)} » : il ne sera importé qu'une fois.")
            return
        if upload.already is not None:
            st.info(f"Fichier déjà importé (import n°{upload.already}) : il n'est pas proposé à nouveau. "
                    "Pour le réimporter, annulez d'abord cet import dans l'historique ci-dessous.")
            return
        if upload.failed or upload.prepared is None:
            st.error(UNEXPECTED.format(what=" pendant la lecture de ce fichier"))
            return
        report = upload.prepared.report
        if report.layout_label:
            facts = [f"**Mise en page détectée** : {report.layout_label}"]
            if report.encoding:
                facts.append(f"**Encodage** : {report.encoding}")
            if report.delimiter:
                facts.append(f"**Séparateur** : {report.delimiter}")
            if report.sheet:
                facts.append(f"**Feuille** : {markdown_literal(report.sheet)}")
            facts.append(f"**Lignes lues** : {format_number_fr(report.rows_read, 0)}")
            st.markdown(" · ".join(facts))
        for warning in report.warnings:
            st.warning(markdown_literal(warning), icon=":material/warning:")
        if report.problems:
            st.error(f"{format_number_fr(len(report.problems), 0)} problème(s) : ce fichier ne peut pas être "
                     "importé. Corrigez-le puis déposez-le à nouveau, ou retirez-le de la liste.",
                     icon=":material/error:")
            show_problems(report.problems, upload.name, upload.sha256[:16])
        elif upload.valid:
            st.markdown(":green[:material/check_circle:] **Fichier valide** : prêt à être importé.")
        if report.preview is not None and report.preview.num_rows:
            shown = report.preview.num_rows
            with st.expander(f"Aperçu des {format_number_fr(shown, 0)} premières lignes, telles qu'elles seront "
                             "enregistrées", expanded=single):
                show_preview(report)


def run_import(ready: list[Upload], replace: bool) -> list[importer.ImportReport] | None:
    try:
        with st.status("Import en cours…", expanded=True) as status:
            for upload in ready:
                rows = upload.prepared.report.rows_read
                st.write(f"« {markdown_literal(upload.name)} » : {format_number_fr(rows, 0)} ligne(s) vérifiée(s).")
            st.write("Écriture dans la base, en une seule transaction (tous les fichiers ou aucun)…")
            results = importer.store_many(access.connection(),
                                          [(u.prepared.staged, u.prepared.report) for u in ready],
                                          replace=replace)
            if all(r.outcome in (importer.STATUS_IMPORTED, "deja_importe") for r in results):
                status.update(label="Import terminé", state="complete", expanded=False)
            else:
                st.write("Refusé : la base est restée telle qu'elle était.")
                status.update(label="Import refusé : rien n'a été enregistré", state="error", expanded=False)
        return results
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
    imports = access.imports()
    if imports.empty:
        st.caption("Aucun import pour l'instant.")
        return
    shown = imports[["id", "created_at", "filename", "layout", "status", "rows_added", "rows_replaced",
                     "rows_unchanged", "structures_added", "structures_updated", "created_by"]].copy()
    shown["status"] = shown["status"].map(lambda s: access.STATUS_LABELS.get(s, s))
    shown["layout"] = shown["layout"].map(access.layout_label)
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "id": st.column_config.NumberColumn("N°", format="%d"),
        "created_at": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY HH:mm"),
        "filename": "Fichier", "layout": "Mise en page", "status": "État", "created_by": "Par",
        **{name: st.column_config.NumberColumn(label, format="localized") for name, label in (
            ("rows_added", "Ajoutées"), ("rows_replaced", "Remplacées"), ("rows_unchanged", "Inchangées"),
            ("structures_added", "Structures créées"), ("structures_updated", "Structures mises à jour"))},
    })

    active = imports[imports["status"] == importer.STATUS_IMPORTED]
    if active.empty:
        st.caption("Aucun import en vigueur à annuler.")
        return
    names = dict(zip(active["id"].astype(int), active["filename"]))
    dates = dict(zip(active["id"].astype(int), active["created_at"]))
    pick, act, _ = st.columns([3, 1, 1], vertical_alignment="bottom")
    choice = pick.selectbox("Import à annuler", list(names),
                            format_func=lambda i: f"n°{i} – {names[i]} ({dates[i]:%d/%m/%Y %H:%M})")
    if act.button("Annuler l'import", icon=":material/undo:", width="stretch"):
        state.undo_pending = choice
    if state.get("undo_pending") != choice:
        return
    st.warning(f"Annuler l'import n°{choice} (« {markdown_literal(names[choice])} ») ? Ses valeurs seront retirées de la base ; "
               "les valeurs et structures qu'il avait remplacées seront rétablies.")
    left, right, _ = st.columns([1, 1, 3])
    confirmed = left.button("Confirmer l'annulation", type="primary", width="stretch")
    kept = right.button("Ne pas annuler", width="stretch")
    done = None
    if confirmed:
        state.pop("undo_pending", None)
        try:
            done = importer.undo(access.connection(), choice)
        except importer.UndoRefused as refused:
            st.error(str(refused))
        except Exception:
            st.error(UNEXPECTED.format(what=" pendant l'annulation"))
    if kept:
        state.pop("undo_pending", None)
    if done or kept:
        if done:
            state.undo_message = done
        st.rerun()


# ---------------------------------------------------------------------------------------------- page
st.title("Import")
st.markdown(
    "Déposez les exports de vos indicateurs : **CSV** (séparateur `;`, `,` ou tabulation ; UTF-8 ou "
    "Windows-1252) ou classeur **Excel / OpenDocument** (`.xlsx`, `.xls`, `.ods`). La mise en page est "
    "reconnue d'après les en-têtes : format long du modèle ci-dessous, tableau large (une colonne par "
    "indicateur), export SP+ « export-resultats », fichiers du baromètre, registre des structures.  \n"
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
    uploads = read_uploads(files)
    for upload in uploads:
        describe_upload(upload, single=len(uploads) == 1)

    offered = [u for u in uploads if u.offered]
    ready = [u for u in offered if u.valid]
    replace = st.checkbox(REPLACE_LABEL, key="import_replace")
    blocked = len(ready) < len(offered)
    if blocked:
        st.caption("Le bouton d'import s'active quand chaque fichier déposé est valide : corrigez les fichiers "
                   "signalés, ou retirez-les de la liste.")
    elif not offered:
        st.caption("Aucun nouveau fichier à importer.")
    clicked = st.button(f"Importer {len(ready)} fichier(s)", type="primary", disabled=blocked or not ready,
                        icon=":material/upload:")
    if clicked:
        results = run_import(ready, replace)
        if results is not None and all(r.outcome in (importer.STATUS_IMPORTED, "deja_importe") for r in results):
            state.import_results = [(r.outcome, r.summary()) for r in results]
            state.import_uploader += 1
            state.import_prepared = {}
            state.import_digests = {}
            st.rerun()
        if results is not None:
            show_refusal(results, replace)

st.divider()
try:
    show_history()
except Exception:
    st.error(UNEXPECTED.format(what=" pendant la lecture de l'historique"))
