"""Page « Structures et imports »: what the database holds (the territories of the open data apart), and the demo
data one click away."""

import pandas as pd
import streamlit as st

from indicators.text import IMPORT_STATUS_WORDS, format_number_fr, layout_label
from ui import access, frame
from ui import territories as territories_ui
from ui import widgets as ui

frame.require()

COUNTS = {"rows_added": "Ajoutées", "rows_replaced": "Remplacées", "rows_unchanged": "Inchangées",
          "structures_added": "Structures créées"}


def count_texts(values: pd.Series) -> pd.Series:
    """Whole numbers written in French (« 61 607 »): a NumberColumn would follow the browser's English locale."""
    return values.map(lambda n: "" if pd.isna(n) else format_number_fr(n, 0))


def count_column(label: str):
    return st.column_config.TextColumn(label, alignment="right")


st.title("Structures et imports")

# Shared between sessions by st.cache_resource: read only, the page shows new frames built from it.
who = frame.access()
structures = access.structures(access.data_version(), who)
imports = access.imports(who)

if access.is_empty():
    ui.first_run_screen()

in_force = int((imports["status"] == "importe").sum()) if not imports.empty else 0
left, middle, right = st.columns(3)
left.metric("Structures", format_number_fr(len(structures), 0))
middle.metric("Réseaux", format_number_fr(structures["network"].nunique(), 0))
right.metric("Imports en vigueur", format_number_fr(in_force, 0))

st.subheader("Structures")
st.dataframe(
    structures.assign(label_level=structures["label_level"].fillna("sans label"),
                      n_values=count_texts(structures["n_values"])),
    hide_index=True,
    column_config={
        "code": "Code", "name": "Nom", "network": "Réseau", "typologie": "Typologie",
        "departement": "Département", "region": "Région", "label_level": "Label",
        "label_awarded_on": st.column_config.DateColumn("Label attribué le", format="DD/MM/YYYY"),
        "n_values": count_column("Valeurs"),
        "last_period_end": st.column_config.DateColumn("Dernière période", format="DD/MM/YYYY"),
    },
)

territories_ui.section()

st.subheader("Historique des imports")
if imports.empty:
    st.caption("Aucun import.")
else:
    shown = imports[["id", "created_at", "filename", "layout", "status", *COUNTS, "created_by"]].assign(
        status=imports["status"].map(lambda s: IMPORT_STATUS_WORDS.get(s, s)),
        layout=imports["layout"].map(layout_label),
        **{name: count_texts(imports[name]) for name in COUNTS})
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "id": "N°", "created_at": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY HH:mm"),
            "filename": "Fichier", "layout": "Mise en page", "status": "État", "created_by": "Par",
            **{name: count_column(label) for name, label in COUNTS.items()},
        },
    )
