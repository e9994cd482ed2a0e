"""Page « Comment est calculé mon niveau ? »: the one method text (docs/methode.md), for everyone a level is
shown to."""

import streamlit as st

from indicators.method import method_markdown
from ui import frame
from ui import widgets as ui

frame.require()

st.title(ui.METHOD_TITLE)
st.markdown(method_markdown())
st.page_link("pages/referentiel.py", label="Les seuils du référentiel en vigueur", icon=":material/rule:")
