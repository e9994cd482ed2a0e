"""Mon service on paper: the two PDF downloads (fiche de résultats, affiche) and the stylesheet that prints the page
itself without the sidebar and the header, no chart cut across two sheets."""

from __future__ import annotations

from datetime import date

import streamlit as st

from indicators import compliance, fiche
from ui.widgets import download_name

# Our own constant CSS, never text from a file or a person.
PRINT_CSS = """<style>
@media print {
  @page { size: A4; margin: 12mm; }
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stStatusWidget"],
  [data-testid="stExpandSidebarButton"], [data-testid="stDownloadButton"], [data-testid="stElementToolbar"],
  [data-testid="stBottom"] { display: none !important; }
  [data-testid="stAppViewContainer"], [data-testid="stMain"] { margin: 0 !important; padding: 0 !important; }
  [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 !important; }
  [data-testid="stPlotlyChart"], [data-testid="stMetric"], [data-testid="stExpander"], [data-testid="stDataFrame"],
  [data-testid="stTabs"], [data-testid="stAlert"], .js-plotly-plot, svg, canvas, tr {
    break-inside: avoid; page-break-inside: avoid;
  }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  /* Charts and tables keep the width the screen gave them (plotly and the grid draw in pixels): on an A4 sheet,
     about 700 px wide, a desktop's 1,100 px would be cut on the right. Shrunk, they fit whole. */
  [data-testid="stPlotlyChart"], [data-testid="stDataFrame"] { zoom: 0.6; }
}
</style>"""

PDF = "application/pdf"


def fiche_buttons(assessment: compliance.Assessment, code: str, today: date, improvements=None) -> None:
    """« Fiche de résultats (PDF) » and « Affiche (PDF) », each drawn only when clicked (data=lambda), for a
    structure of ``assessment`` (already cut to the person's scope); the fiche lists its ``improvements``."""
    window = assessment.window.text
    left, right = st.columns(2)
    left.download_button("Fiche de résultats (PDF)", data=lambda: fiche.fiche_pdf(assessment, code, today, improvements),
                         on_click="ignore", mime=PDF, file_name=download_name(f"fiche-{code}", window, "pdf"),
                         help="Une page A4 pour le comité qualité et l'audit de labellisation.")
    right.download_button("Affiche (PDF)", data=lambda: fiche.affiche_pdf(assessment, code, today),
                          on_click="ignore", mime=PDF, file_name=download_name(f"affiche-{code}", window, "pdf"),
                          help="Une affiche A4 des résultats pour l'accueil du public (engagement 6).")


def print_stylesheet() -> None:
    """The page printed from the browser: no sidebar, no header, no chart cut across two sheets."""
    st.html(PRINT_CSS)
