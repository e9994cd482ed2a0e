"""Text helpers shared by the readers: header normalisation and French formatting of numbers."""

from __future__ import annotations

import re
import unicodedata

_UNIT_IN_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Characters that turn a cell into a formula in Excel or LibreOffice (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


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


def format_number_fr(value: float | int | None, decimals: int = 1) -> str:
    """85.3 → « 85,3 », 10600 → « 10 600 » (narrow no-break space between thousands)."""
    if value is None or value != value:
        return "–"
    text = f"{value:,.{decimals}f}" if decimals else f"{value:,.0f}"
    return text.replace(",", "\u202f").replace(".", ",")


def format_count(count: int, noun: str, plural: str | None = None) -> str:
    """« 1 valeur », « 3 valeurs », « 1 159 valeurs »: the right number, never « valeur(s) »."""
    word = noun if abs(count) < 2 else (plural or noun + "s")
    return f"{format_number_fr(count, 0)} {word}"


# Characters that make Markdown inline syntax (links and images need « [ », Streamlit's icons and colours
# « : », formulas « $ »), and those that change a block only when they open it (titles, lists, quotes).
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>$~|:!])")
_AUTOLINK_START = re.compile(r"(?i)\b(https?|ftp|www|mailto)(?=[:.])")
_MARKDOWN_BLOCK_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def markdown_literal(text: object) -> str:
    """Text from a file or a person (names, file names, titles) as Streamlit's Markdown shows it literally:
    no link, no image that a browser would fetch, no emphasis, no formula."""
    flat = " ".join(str(text).split())  # a line break would start a new Markdown block
    # An invisible word joiner keeps « http://… », « www.… » and e-mail addresses from becoming clickable links.
    flat = _AUTOLINK_START.sub("\\1\u2060", flat).replace("@", "\u2060@")
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", flat)
    # « \# titre », « \- a », « 12\. liste »: the escape goes before the mark, after an item's number.
    return _MARKDOWN_BLOCK_START.sub(lambda m: m[0] + "\\" if m[0][0].isdigit() else "\\" + m[0], escaped, count=1)
