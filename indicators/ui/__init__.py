"""The Streamlit side of the package: the frame of every page, the pages' one door onto the database and
their shared widgets. Only the dashboard imports it; the command line never loads Streamlit."""
