"""The product's French: numbers, percentages, dates and units written one way, the words for every code
(statuses, levels, engagements, imports, layouts), and the texts made safe for spreadsheets and Markdown."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

MONTH_NAMES = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
               "novembre", "décembre")
_UNIT_IN_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Characters that turn a cell into a formula in Excel or LibreOffice (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# The same rule for the exports that neutralise whole columns, generated from the list, never retyped: the code
# points for DuckDB's ascii(), a pattern for Arrow's (RE2) and Python's regular expressions.
FORMULA_CODE_POINTS = tuple(ord(c) for c in FORMULA_PREFIXES)
FORMULA_PATTERN = "^[" + "".join(f"\\x{point:02x}" for point in FORMULA_CODE_POINTS) + "]"


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def month_words(day: date) -> str:
    """« octobre 2025 »."""
    return f"{MONTH_NAMES[day.month - 1]} {day.year}"


_PERIOD_YEAR = re.compile(r"^(\d{4})$")
_PERIOD_PART = re.compile(r"^(\d{4})-([TS])([1-4])$", re.IGNORECASE)
_PERIOD_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def period_words(window_text: str) -> str:
    """A window or a period as a person reads it: « 2025 » → « année 2025 », « 2026-T4 » → « T4 2026 »,
    « 2026-10 » → « octobre 2026 », « 12m » → « 12 derniers mois »; any other text as it is."""
    text = str(window_text).strip()
    if text == "12m":  # periods.ROLLING, not imported: periods reads its month names from this module
        return "12 derniers mois"
    if m := _PERIOD_YEAR.match(text):
        return f"année {m[1]}"
    if m := _PERIOD_PART.match(text):
        return f"{m[2].upper()}{m[3]} {m[1]}"
    if (m := _PERIOD_MONTH.match(text)) and 1 <= int(m[2]) <= 12:
        return f"{MONTH_NAMES[int(m[2]) - 1]} {m[1]}"
    return text


def window_label(window) -> str:
    """A periods.Window as a person reads it: « année 2025 », « T4 2026 », and the rolling window with its months
    (its ``label``: « 12 mois glissants (11/2024 – 10/2025) »)."""
    return window.label if window.text == "12m" else period_words(window.text)


def normalize_header(header: object) -> str:
    """« Taux de décroché (%) » → ``taux_de_decroche``: case, accents, units and punctuation ignored."""
    text = "" if header is None else str(header)
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("≥", " ")
    text = _UNIT_IN_PARENS.sub(" ", text)
    text = strip_accents(text).lower()
    return _NON_ALNUM.sub("_", text).strip("_")


def neutralize_formula(text: str | None) -> str | None:
    """Prefix a cell that a spreadsheet would run as a formula with an apostrophe."""
    if text and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def unneutralize_formula(text: str | None) -> str | None:
    """Undo :func:`neutralize_formula` so that export then re-import gives identical data."""
    if text and len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def _missing(value) -> bool:
    """None, NaN, NaT or pandas' NA, told without importing pandas (the workbook reader runs without it)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # only NaN and NaT differ from themselves
    except TypeError:  # pandas' NA: its comparison has no truth value
        return True


def format_number_fr(value: float | int | None, decimals: int = 1, trim: bool = False) -> str:
    """85.3 → « 85,3 », 10600 → « 10 600 » (narrow no-break space between thousands); missing → « – ».
    ``trim``: trailing zeros dropped, so that a number shows as written (2.50 → « 2,5 », 85.0 → « 85 »)."""
    if _missing(value):
        return "–"
    text = f"{value:,.{decimals}f}" if decimals else f"{value:,.0f}"
    text = text.replace(",", "\u202f").replace(".", ",")
    return text.rstrip("0").rstrip(",") if trim and "," in text else text


def format_percent(value: float | None, decimals: int = 1, trim: bool = False) -> str:
    """85.3 → « 85,3 % » (narrow no-break space before the sign); missing → « – »."""
    return "–" if _missing(value) else f"{format_number_fr(value, decimals, trim)}\u202f%"


def format_date(value: date | datetime | None) -> str:
    """31 January 2025 → « 31/01/2025 »; missing → « – »."""
    return "–" if _missing(value) else f"{value:%d/%m/%Y}"


def format_data_number(value: float) -> str:
    """A number as the exports write it, to be read back the same: whole numbers without decimals, others
    with every digit Python needs and a decimal comma (85.25 → « 85,25 », 12.0 → « 12 »)."""
    return str(int(value)) if value.is_integer() else repr(value).replace(".", ",")


# Words a unit or a counted noun keeps alike in the singular, and those after which its complement starts
# (« démarches traitées dans les délais » → « démarche traitée dans les délais »).
_INVARIABLE = frozenset({"avis", "mois", "fois", "plus", "pris", "accès", "cas", "j", "min", "pt"})
_COMPLEMENT_START = frozenset({"à", "au", "aux", "de", "des", "du", "dans", "en", "ou", "par", "pour", "sur", "sous",
                               "avec", "sans", "et", "les", "la", "le"})


def singular(words: str) -> str:
    """The singular of a plural noun group, up to its complement: « minutes » → « minute », « jours ouvrés » →
    « jour ouvré », « appels décrochés » → « appel décroché », « avis à 8/10 ou plus » unchanged."""
    parts = words.split(" ")
    for i, word in enumerate(parts):
        if word in _COMPLEMENT_START:
            break
        if word.endswith("s") and word not in _INVARIABLE and len(word) > 2:
            parts[i] = word[:-1]
    return " ".join(parts)


def plural(count: float, noun: str, plural_form: str | None = None) -> str:
    """The word that goes with ``count`` (singular below 2, as in French: « 0,4 minute », « 1 problème »,
    « 3 problèmes »); ``noun`` in the plural gives its singular itself when ``plural_form`` is the plural."""
    if plural_form is not None:
        return noun if abs(count) < 2 else plural_form
    return singular(noun) if abs(count) < 2 else noun


def format_value(value, unit: str | None = None, decimals: int = 1, trim: bool = False) -> str:
    """A value with its unit: 85.3 and « % » → « 85,3 % »; 10600 → « 10 600 »; 2.5 and « jours » →
    « 2,5 jours », 0.4 and « minutes » → « 0,4 minute » (singular below 2); a yes/no → « oui »; missing → « – »."""
    if _missing(value):
        return "–"
    if unit == "oui/non":
        return "oui" if value >= 0.5 else "non"
    if unit and unit.startswith("%"):
        return format_percent(value, decimals, trim)
    # The number as shown decides the agreement: 1.96 shows as « 2,0 minutes ».
    return f"{format_number_fr(value, decimals, trim)} {plural(round(value, decimals), unit) if unit else ''}".strip()


# Units short enough for a KPI card.
SHORT_UNITS = {"minutes": "min", "jours ouvrés": "j ouvrés", "jours": "j"}


def format_compact(value, unit: str | None) -> str:
    """For KPI cards: « 20,4 min », « 2,6 j ouvrés », « 85,3 % »."""
    return format_value(value, SHORT_UNITS.get(unit, unit))


def _shown_change(change) -> float:
    """The change as a card shows it, to one decimal: 0.04 is « 0,0 », no change."""
    return round(float(change), 1) + 0.0  # + 0.0: -0.0 becomes 0.0


def format_change(change, unit: str | None) -> str | None:
    """A signed change: rates in points (« +1,6 pt »), others in their short unit; none for yes/no; a change
    that rounds to zero has no sign (« 0,0 pt »)."""
    if _missing(change) or unit == "oui/non":
        return None
    shown = _shown_change(change)
    sign = "+" if shown > 0 else "-" if shown < 0 else ""  # ASCII minus: st.metric reads the sign
    suffix = "pt" if unit and unit.startswith("%") else plural(shown, SHORT_UNITS.get(unit, unit or ""))
    return f"{sign}{format_number_fr(abs(shown), 1)} {suffix}".strip()


def change_color(change, direction: str | None) -> str:
    """st.metric's ``delta_color`` for a change: « off » (grey) when there is none or it shows as zero, else green
    when it goes the good way (« normal » for plus haut = mieux, « inverse » for plus bas = mieux)."""
    if _missing(change) or _shown_change(change) == 0:
        return "off"
    return "inverse" if direction == "baisse" else "normal"


def capital(words: str) -> str:
    """The first letter of a sentence in capital, the rest as it is (« argent depuis juin 2025 » → « Argent depuis
    juin 2025 »; str.capitalize would lower the rest)."""
    return words[:1].upper() + words[1:]


def format_count(count: int, noun: str, plural_form: str | None = None) -> str:
    """« 1 valeur », « 3 valeurs », « 1 159 valeurs »: the right number, never « valeur(s) ». ``noun`` is the
    singular; ``plural_form`` when adding an « s » to each word is not the plural (« 2 valeurs ajoutées » from
    « valeur ajoutée »; « 3 mises à jour » needs « mises à jour »)."""
    word = noun if abs(count) < 2 else plural_form or _plural_of(noun)
    return f"{format_number_fr(count, 0)} {word}"


def _plural_of(noun: str) -> str:
    """« valeur ajoutée » → « valeurs ajoutées », up to the complement (« fichier de valeurs »)."""
    parts = noun.split(" ")
    for i, word in enumerate(parts):
        if word in _COMPLEMENT_START:
            break
        if not word.endswith(("s", "x", "z")):
            parts[i] = word + "s"
    return " ".join(parts)


# Characters that make Markdown inline syntax (links and images need « [ », Streamlit's icons and colours
# « : », formulas « $ »), and those that change a block only when they open it (titles, lists, quotes).
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>$~|:!])")
_AUTOLINK_START = re.compile(r"(?i)\b(https?|ftp|www|mailto)(?=[:.])")
_MARKDOWN_BLOCK_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def ordinal(rank: int) -> str:
    """A rank among structures: 1 → « 1re » (a structure is feminine), 12 → « 12e », 1234 → « 1 234e »."""
    return "1re" if rank == 1 else f"{format_number_fr(rank, 0)}e"


def markdown_literal(text: object) -> str:
    """Text from a file or a person (names, file names, titles) as Streamlit's Markdown shows it literally:
    no link, no image that a browser would fetch, no emphasis, no formula."""
    flat = " ".join(str(text).split())  # a line break would start a new Markdown block
    # An invisible word joiner keeps « http://… », « www.… » and e-mail addresses from becoming clickable links.
    flat = _AUTOLINK_START.sub("\\1\u2060", flat).replace("@", "\u2060@")
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", flat)
    # « \# titre », « \- a », « 12\. liste »: the escape goes before the mark, after an item's number.
    return _MARKDOWN_BLOCK_START.sub(lambda m: m[0] + "\\" if m[0][0].isdigit() else "\\" + m[0], escaped, count=1)


# --- The words for the codes the engine computes and stores ------------------------------------------------
INDICATOR_STATUS_WORDS = {"conforme": "conforme", "non_conforme": "non conforme",
                          "echantillon_insuffisant": "échantillon insuffisant", "manquant": "manquant"}
ENGAGEMENT_STATUS_WORDS = {"conforme": "conforme", "non_conforme": "non conforme", "incomplet": "incomplet",
                           "sans_indicateur": "sans indicateur"}
FRESHNESS_WORDS = {"a_jour": "à jour", "en_retard": "en retard", "manquant": "manquant"}
# One table for the three: the exports write a status or a freshness column through the same words.
STATUS_WORDS = {**INDICATOR_STATUS_WORDS, **ENGAGEMENT_STATUS_WORDS, **FRESHNESS_WORDS}
LEVEL_WORDS = {"aucun": "aucun niveau", "bronze": "bronze", "argent": "argent", "or": "or"}
IMPORT_STATUS_WORDS = {"importe": "importé", "annule": "annulé"}
DIRECTION_WORDS = {"hausse": "plus haut = mieux", "baisse": "plus bas = mieux"}
KIND_WORDS = {"ratio": "ratio des sommes", "mean": "moyenne", "latest": "dernière valeur"}
REFERENTIEL_ORIGIN_WORDS = {"livre": "livré avec l'application", "edition": "modifié par un administrateur"}
REFERENTIEL_FIELD_WORDS = {"bronze": "seuil bronze", "argent": "seuil argent", "or": "seuil or",
                           "required": "obligatoire", "min_n": "effectif minimum"}
ENGAGEMENT_THEMES = ("plus proche", "plus efficace", "plus simple")


def status_word(code: str) -> str:
    """« non conforme », « à jour »…; a code without words shows as it is."""
    return STATUS_WORDS.get(code, code)


def yes_no(flag) -> str:
    return "oui" if bool(flag) else "non"


def theme_title(theme: str) -> str:
    """« plus proche » → « Services publics plus proche »; another theme capitalised."""
    return f"Services publics {theme}" if theme.startswith("plus ") else theme.capitalize()


def layout_label(name: str | None) -> str:
    """The French name of a detected layout, as the import history shows it."""
    # Imported here: the layouts read their column names through this module.
    from indicators.layouts import BY_NAME

    spec = BY_NAME.get(name or "")
    return spec.label if spec else {"demonstration": "données de démonstration"}.get(name, name or "")
