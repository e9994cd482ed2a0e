"""Page « Structures et imports »: what the database holds, and the demo data one click away."""

import streamlit as st

from indicators.ui import access, frame
from indicators.ui import widgets as ui

frame.require()

st.title("Structures et imports")

structures = access.structures(access.data_version())
imports = access.imports()

if access.is_empty():
    ui.first_run_screen()

left, middle, right = st.columns(3)
left.metric("Structures", f"{len(structures):,}".replace(",", "\u202f"))
middle.metric("Réseaux", structures["network"].nunique())
right.metric("Imports en vigueur", int((imports["status"] == "importe").sum()) if not imports.empty else 0)

st.subheader("Structures")
structures["label_level"] = structures["label_level"].fillna("sans label")
st.dataframe(
    structures,
    hide_index=True,
    column_config={
        "code": "Code", "name": "Nom", "network": "Réseau", "typologie": "Typologie",
        "departement": "Département", "region": "Région", "label_level": "Label",
        "label_awarded_on": st.column_config.DateColumn("Label attribué le", format="DD/MM/YYYY"),
        "n_values": st.column_config.NumberColumn("Valeurs", format="localized"),
        "last_period_end": st.column_config.DateColumn("Dernière période", format="DD/MM/YYYY"),
    },
)

st.subheader("Historique des imports")
if imports.empty:
    st.caption("Aucun import.")
else:
    shown = imports[["id", "created_at", "filename", "layout", "status", "rows_added", "rows_replaced",
                     "rows_unchanged", "structures_added", "created_by"]].copy()
    shown["status"] = shown["status"].map(access.STATUS_LABELS)
    shown["layout"] = shown["layout"].map(access.layout_label)
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "id": "N°", "created_at": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY HH:mm"),
            "filename": "Fichier", "layout": "Mise en page", "status": "État", "created_by": "Par",
            **{name: st.column_config.NumberColumn(label, format="localized") for name, label in (
                ("rows_added", "Ajoutées"), ("rows_replaced", "Remplacées"), ("rows_unchanged", "Inchangées"),
                ("structures_added", "Structures créées"))},
        },
    )
