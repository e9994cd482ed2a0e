"""Router of the dashboard: page config, theme and navigation only; the pages call indicators/."""

import streamlit as st

from pages import _access as access

st.set_page_config(page_title="Services Publics+ · Indicateurs de qualité", page_icon=":material/leaderboard:", layout="wide")
access.protect_server()

navigation = st.navigation({
    "Pilotage": [
        st.Page("pages/mon_service.py", title="Mon service", icon=":material/home:", default=True),
        st.Page("pages/comparaison.py", title="Comparaison", icon=":material/leaderboard:"),
    ],
    "Données": [
        st.Page("pages/import_fichiers.py", title="Import", icon=":material/upload_file:"),
        st.Page("pages/donnees.py", title="Structures et imports", icon=":material/table_view:"),
    ],
    "Référentiel": [
        st.Page("pages/referentiel.py", title="Référentiel", icon=":material/rule:"),
    ],
})
navigation.run()
