"""The Streamlit side of the dashboard, beside the domain package: the frame of every page, the pages' one door
onto the database and their shared widgets. indicators/ never imports it (nor Streamlit): the command line and
the tests of the domain run without Streamlit."""
