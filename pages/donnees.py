"""Page « Structures et imports »: what the database holds (the territories of the open data apart), and the demo
data one click away."""

import streamlit as st

from indicators import views
from indicators.import_files import HISTORY_COUNTS, history_frame
from indicators.text import format_number_fr
from ui import access, frame
from ui import territories as territories_ui
from ui import widgets as ui

frame.require()

RIGHT = {"Valeurs": st.column_config.TextColumn("Valeurs", alignment="right")}


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
st.dataframe(views.structures_table(structures), hide_index=True, column_config=RIGHT)

territories_ui.section()

st.subheader("Historique des imports")
if imports.empty:
    st.caption("Aucun import.")
else:
    st.dataframe(history_frame(imports), hide_index=True, column_config={
        "id": "N°", "created_at": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY HH:mm"),
        "filename": "Fichier", "layout": "Mise en page", "status": "État", "created_by": "Par",
        **{name: st.column_config.TextColumn(label, alignment="right") for name, label in HISTORY_COUNTS.items()},
    })
