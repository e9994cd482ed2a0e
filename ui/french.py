"""The frame's French: what pages pass to Streamlit's charts, and the script that turns Streamlit's own English
words (uploader, tables, lists, menus, accessibility labels) into French and declares the page ``lang="fr"``.

Streamlit 1.67 has no locale setting: its words are written in English in its JavaScript bundle and ``index.html``
says ``<html lang="en">``. Configuration removes what is not needed (.streamlit/config.toml); the rest is
translated in the browser by ``SCRIPT``, which ``ui.frame`` runs with ``st.html(..., unsafe_allow_javascript=True)``
(Streamlit's documented way to run JavaScript in the page, not in an iframe). What stays English is listed in the
README, « Le cadre en français »."""

from __future__ import annotations

import json

from indicators.text import MONTH_NAMES

NBSP = "\u00a0"

# plotly.js reads a locale from its configuration (``locales``), so the French dictionary travels with each chart:
# Streamlit's bundled plotly.js registers only English. Keys are plotly's own English words (modebar tooltips,
# messages); the format gives French month and day names to date axes and hover labels.
_PLOTLY_WORDS = {
    "Autoscale": "Échelle automatique",
    "Box Select": "Sélection rectangulaire",
    "Compare data on hover": "Comparer les données au survol",
    "Double-click to zoom back out": "Double-cliquez pour dézoomer",
    "Download plot": "Télécharger le graphique",
    "Download plot as a PNG": "Télécharger le graphique en PNG",
    "Download plot as a png": "Télécharger le graphique en PNG",
    "Image download succeeded": "Image téléchargée",
    "Lasso Select": "Sélection au lasso",
    "Pan": "Déplacer",
    "Preparing image - this may take a few seconds": "Préparation de l'image : quelques secondes…",
    "Reset": "Réinitialiser",
    "Reset axes": "Réinitialiser les axes",
    "Reset view": "Réinitialiser la vue",
    "Reset views": "Réinitialiser les vues",
    "Show closest data on hover": "Afficher la donnée la plus proche au survol",
    "Snapshot succeeded": "Image créée",
    "Sorry, there was a problem downloading your image!": "Désolé, l'image n'a pas pu être téléchargée.",
    "Toggle Spike Lines": "Afficher ou masquer les lignes de repère",
    "Toggle show closest data on hover": "Afficher ou non la donnée la plus proche au survol",
    "Zoom": "Zoom",
    "Zoom in": "Zoom avant",
    "Zoom out": "Zoom arrière",
}
_SHORT_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
_DAYS = ("dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi")
PLOTLY_CONFIG = {
    "locale": "fr",
    "locales": {"fr": {
        "dictionary": _PLOTLY_WORDS,
        "format": {
            "days": list(_DAYS), "shortDays": [day[:3] + "." for day in _DAYS],
            "months": list(MONTH_NAMES), "shortMonths": list(_SHORT_MONTHS),
            "date": "%d/%m/%Y", "decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", " €"],
            "year": "%Y", "month": "%b %Y", "dayMonth": "%-d %b", "dayMonthYear": "%-d %b %Y",
        },
    }},
    "displaylogo": False,
}

# Streamlit's English words, as its bundle writes them, and their French. The script replaces a text or an
# accessibility attribute only when it is one of these as a whole, so that no content of the pages is touched.
STREAMLIT_WORDS = {
    # file uploader
    "Upload": "Parcourir",
    "Upload directories": "Parcourir les dossiers",
    "Add files": "Ajouter des fichiers",
    "Drag and drop files here": "Déposez les fichiers ici",
    "Drag and drop a file here": "Déposez le fichier ici",
    "Drag and drop directories here": "Déposez les dossiers ici",
    "file upload": "Choisir des fichiers",
    "Upload failed": "Échec de l'envoi",
    "Click to retry upload": "Cliquez pour renvoyer le fichier",
    "Unexpected error. Please try again.": "Erreur inattendue. Veuillez réessayer.",
    "Only one file is allowed.": "Un seul fichier est accepté.",
    "Error uploading file": "Erreur à l'envoi du fichier",
    "Error deleting file": "Erreur à la suppression du fichier",
    # lists (selectbox, multiselect)
    "Select all": "Tout sélectionner",
    "Clear all": "Tout effacer",
    "Clear value": "Effacer",
    "Choose an option": "Choisir une option",
    "Choose options": "Choisir des options",
    "No results": "Aucun résultat",
    "No options to select": "Aucune option",
    "Open": "Afficher la liste",
    "Close": "Fermer",
    "Selected values": "Valeurs choisies",
    "Multiselect options": "Options",
    "Selectbox options": "Options",
    # tables: toolbar, search, column menu
    "Show/hide columns": "Afficher ou masquer des colonnes",
    "Download as CSV": "Télécharger en CSV",
    "Search": "Rechercher",
    "Type to search": "Tapez pour rechercher",
    "Close Search": "Fermer la recherche",
    "Next Result": "Résultat suivant",
    "Previous Result": "Résultat précédent",
    "Fullscreen": "Plein écran",
    "Close fullscreen": "Quitter le plein écran",
    "Sort ascending": "Trier par ordre croissant",
    "Sort descending": "Trier par ordre décroissant",
    "Pin column": "Épingler la colonne",
    "Unpin column": "Désépingler la colonne",
    "Hide column": "Masquer la colonne",
    "Autosize": "Largeur automatique",
    "Copy column name": "Copier le nom de la colonne",
    "Dataframe column menu": "Menu de la colonne",
    "Statistics": "Statistiques",
    "Add row": "Ajouter une ligne",
    "Delete row(s)": "Supprimer les lignes",
    "Loading...": "Chargement…",
    "No data": "Aucune donnée",
    "Empty": "Vide",
    # frame: sidebar, navigation, headings, status, connection
    "Sidebar": "Barre latérale",
    "App pages": "Pages du tableau de bord",
    "Collapse sidebar": "Replier la barre latérale",
    "Expand sidebar": "Déplier la barre latérale",
    "View more": "Voir plus",
    "View less": "Voir moins",
    "Main menu": "Menu principal",
    "Skip to main content": "Aller au contenu principal",
    "Link to heading": "Lien vers ce titre",
    "Running...": "Calcul en cours…",
    "Stop": "Arrêter",
    "Stopping...": "Arrêt…",
    "Connecting": "Connexion",
    "Please wait...": "Veuillez patienter…",
    "Connection error": "Erreur de connexion",
    "Connection timed out.": "La connexion a expiré.",
    "Network error": "Erreur réseau",
    "Page not found": "Page introuvable",
    "Copy to clipboard": "Copier",
    # what a screen reader says of an icon-only button (Streamlit: the icon's name and « icon »)
    "add icon": "Ajouter",
    "close icon": "Fermer",
    "more_vert icon": "Plus d'options",
    "Loading": "Chargement",
}

# Words that carry a value (a name, a size, a count): a JavaScript regular expression on the whole text and its
# French, with $1… for the value. Sizes are Streamlit's « 15.9KB », « 200MB per file ».
_WORD_PATTERNS = [
    (r"^Help for (.+)$", f"Aide{NBSP}: $1"),
    (r"^Remove (.+)$", "Retirer $1"),
    (r"^Cancel upload of (.+)$", "Annuler l'envoi de $1"),
    (r"^Select (\d+) matches$", "Sélectionner les $1 résultats"),
    (r"^(.+) files are not allowed\.$", "Fichiers $1 refusés."),
    (r"^File must be (\d+)(?:\.0)?MB or smaller\.$", f"Le fichier ne doit pas dépasser $1{NBSP}Mo."),
]
_UNITS = {"GB": "Go", "MB": "Mo", "KB": "ko", "B": "o"}


def _size_patterns() -> list[tuple[str, str]]:
    """« 200MB per file » → « 200 Mo par fichier », « 15.9KB » → « 15,9 ko », and a file's label « name.csv, 0.9KB »
    → « name.csv, 0,9 ko »; with and without decimals, since a JavaScript replacement cannot drop the comma of an
    absent group (an absent group, the file's name, is replaced by nothing). Bytes alone (« 512B ») are left:
    the département « 2B » would read as a size."""
    patterns = []
    for unit, french in _UNITS.items():
        for tail, french_tail in ((" per file", " par fichier"), ("", "")):
            name = "(.+\\.\\w+, )" + ("" if unit == "B" and not tail else "?")
            patterns.append((rf"^{name}(\d+)\.(\d+){unit}{tail}$", f"$1$2,$3{NBSP}{french}{french_tail}"))
            patterns.append((rf"^{name}(\d+){unit}{tail}$", f"$1$2{NBSP}{french}{french_tail}"))
    return patterns


STREAMLIT_PATTERNS = _WORD_PATTERNS + _size_patterns()

# Attributes a screen reader or a tooltip reads (plotly's modebar shows data-title).
_ATTRIBUTES = ["aria-label", "title", "placeholder", "alt", "data-title"]

# The element that carries the script is drawn empty; hidden, it leaves no gap above the page's first element.
_SCRIPT = """<style>
  .stElementContainer:has(> .stHtml > script#cadre-en-francais) { display: none; }
</style>
<script id="cadre-en-francais">
(() => {
  document.documentElement.lang = "fr";
  if (window.cadreEnFrancais) return;  // once per browser tab: the observer then follows every page and rerun
  window.cadreEnFrancais = true;
  const WORDS = new Map(Object.entries(__WORDS__));
  const PATTERNS = __PATTERNS__.map(([source, french]) => [new RegExp(source), french]);
  const ATTRIBUTES = __ATTRIBUTES__;
  const french = value => {
    const text = value.trim();
    if (!text || text.length > 200) return null;
    if (WORDS.has(text)) return value.replace(text, WORDS.get(text));
    for (const [pattern, words] of PATTERNS) {
      if (pattern.test(text)) return value.replace(text, text.replace(pattern, words));
    }
    return null;
  };
  const translateText = node => {
    const done = french(node.nodeValue);
    if (done !== null && done !== node.nodeValue) node.nodeValue = done;
  };
  const translateAttributes = element => {
    for (const name of ATTRIBUTES) {
      const value = element.getAttribute(name);
      const done = value === null ? null : french(value);
      if (done !== null && done !== value) element.setAttribute(name, done);
    }
  };
  // One walk over what was added, its attributes and its texts. Charts' drawings (svg) hold no word of
  // Streamlit's, plotly's are French by PLOTLY_CONFIG: skipped, they are most of what a page adds.
  const drawn = element => !element || element instanceof SVGElement || ["SCRIPT", "STYLE"].includes(element.tagName);
  const visit = node => {
    if (node.nodeType === Node.TEXT_NODE) translateText(node);
    else if (drawn(node)) return NodeFilter.FILTER_REJECT;
    else translateAttributes(node);
    return NodeFilter.FILTER_SKIP;
  };
  const translateTree = root => {
    if (drawn(root.nodeType === Node.TEXT_NODE ? root.parentElement : root)) return;
    if (root.nodeType === Node.TEXT_NODE) return translateText(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    translateAttributes(root);
    document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {acceptNode: visit}).nextNode();
  };
  new MutationObserver(records => {
    for (const record of records) {
      if (record.type === "childList") record.addedNodes.forEach(translateTree);
      else if (record.type === "characterData") translateText(record.target);
      else if (record.attributeName !== "lang") translateAttributes(record.target);
      else if (record.target === document.documentElement && record.target.lang !== "fr") record.target.lang = "fr";
    }
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true,
                                       attributes: true, attributeFilter: [...ATTRIBUTES, "lang"]});
  translateTree(document.body);
})();
</script>"""


def _json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


SCRIPT = (_SCRIPT.replace("__WORDS__", _json(STREAMLIT_WORDS))
          .replace("__PATTERNS__", _json(STREAMLIT_PATTERNS))
          .replace("__ATTRIBUTES__", _json(_ATTRIBUTES)))
