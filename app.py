"""Router of the dashboard: page config, theme and navigation only; the pages call indicators/."""

import streamlit as st

st.set_page_config(page_title="Services Publics+ · Indicateurs de qualité", page_icon="📊", layout="wide")

navigation = st.navigation({
    "Données": [st.Page("pages/donnees.py", title="Structures et imports", icon="🗂️", default=True)],
})
navigation.run()
