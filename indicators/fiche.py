"""One structure's results on paper: the fiche de résultats (one A4 page for the quality committee and the
certification audit) and the affiche (an A4 poster for the reception area: engagement 6, services publish their
results where the public sees them). Drawn with reportlab in DejaVu Sans, which holds every French character
the product writes (« », €, the narrow no-break space of « 89,0 % »).

Both read one structure's rows of an assessment (compliance.assess), already cut to a person's scope: a
structure outside it is refused with the words used for an unknown one."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd
from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from indicators import actions, compliance, method, periods, rights, text, wording
from indicators.charts import axis_range, band_edges, blocking_sentences, label_sentence

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core
FONT_FILES = {"Fiche": "DejaVuSans.ttf", "Fiche-Gras": "DejaVuSans-Bold.ttf",
              "Fiche-Italique": "DejaVuSans-Oblique.ttf"}
REGULAR, BOLD, ITALIC = FONT_FILES
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 30
# DejaVu's capitals and descenders, in font sizes: lines placed by what shows, not by the font's whole box.
ASCENT, DESCENT = 0.76, 0.24
WIDTH = PAGE_WIDTH - 2 * MARGIN

BLUE = HexColor("#000091")
GREY = HexColor("#555555")
LIGHT_GREY = HexColor("#DDDDDD")
INK = HexColor("#161616")
# Bands between thresholds: a light fill, and a pattern for « aucun » so that it is told from bronze without colour.
BAND_FILLS = {"aucun": HexColor("#FBE4E3"), "bronze": HexColor("#F6DCC8"), "argent": HexColor("#E6E6E6"),
              "or": HexColor("#F4E4B0")}
# Words in these colours stay readable on white (contrast ≥ 4.5:1).
LEVEL_INKS = {"aucun": HexColor("#CE0500"), "bronze": HexColor("#A33A00"), "argent": HexColor("#555555"),
              "or": HexColor("#7A5C00")}
STATUS_INKS = {"conforme": HexColor("#18753C"), "non_conforme": HexColor("#CE0500"),
               "incomplet": HexColor("#A33A00"), "echantillon_insuffisant": HexColor("#A33A00"),
               "manquant": HexColor("#A33A00"), "sans_indicateur": GREY}
BLOCKING_FILL = HexColor("#FFF4EC")

UNKNOWN_NETWORK = "Réseau inconnu : « {network} »."
# The two rules of the method a reader of the fiche needs, by their name in docs/methode.md.
METHOD_RULES = ("Niveau d'un indicateur", "Niveau d'une structure")
SAFE_FILE_NAME = re.compile(r"[^0-9A-Za-z._-]+")


class FicheError(Exception):
    """A document that cannot be drawn on this machine; the message is French."""


@dataclass(frozen=True)
class Subject:
    """What both documents say of one structure, read once from the assessment."""

    code: str
    structure: pd.Series
    indicators: pd.DataFrame  # the référentiel's indicators, in its order
    engagements: pd.DataFrame  # number, theme, label, status
    window: periods.Window
    version: str
    today: date
    latest: date | None  # the end of the structure's latest data

    @property
    def name(self) -> str:
        return self.structure["name"] if isinstance(self.structure["name"], str) else self.code

    @property
    def window_words(self) -> str:
        """« 12 derniers mois, de novembre 2025 à octobre 2026 », « année 2025 », « T3 2026 (période en cours : 2
        mois sur 3) »."""
        return periods.window_words(self.window, self.latest)

    @property
    def label_valid(self) -> bool:
        return isinstance(self.structure["label_level"], str) and not self.structure["label_expired"]


def subject(assessment: compliance.Assessment, code: str, today: date) -> Subject:
    """One structure's rows; a structure the assessment does not hold (outside the person's scope) is refused."""
    structures = assessment.structures[assessment.structures["code"] == code]
    if structures.empty:
        raise rights.AccessRefused(rights.UNKNOWN_STRUCTURE.format(code=code))
    indicators = assessment.indicators[assessment.indicators["structure_code"] == code].reset_index(drop=True)
    engagements = assessment.engagements[assessment.engagements["structure_code"] == code].merge(
        assessment.engagement_labels, on="number")
    latest = pd.to_datetime(indicators["last_period_end"]).max()
    return Subject(code, structures.iloc[0], indicators, engagements, assessment.window, assessment.version, today,
                   None if pd.isna(latest) else latest.date())


def structure_assessment(con: duckdb.DuckDBPyConnection, access: rights.Access, code: str,
                         period: str | None = None, today: date | None = None,
                         common: compliance.Assessment | None = None) -> compliance.Assessment:
    """One structure over its own window, as Mon service shows it (compliance.structure_window); ``common``, an
    assessment of many structures, serves when that window is its window (every structure up to date)."""
    window = compliance.structure_window(con, access, period, code, today)
    if common is not None and common.window == window:
        return common
    return compliance.assess(con, window, access, structure=code, today=today)


def network_codes(assessment: compliance.Assessment, network: str) -> list[str]:
    """The codes of a network's structures in the assessment (the person's scope); none is refused as unknown."""
    codes = assessment.structures.loc[assessment.structures["network"] == network, "code"].tolist()
    if not codes:
        raise rights.AccessRefused(UNKNOWN_NETWORK.format(network=network))
    return codes


def file_name(code: str, affiche: bool = False) -> str:
    """« CAF-0012.pdf », « CAF-0012-affiche.pdf »: a code from a file never names a path."""
    return f"{SAFE_FILE_NAME.sub('_', code)}{'-affiche' if affiche else ''}.pdf"


def document_pdf(con: duckdb.DuckDBPyConnection, access: rights.Access, code: str, period: str | None = None,
                 today: date | None = None, affiche: bool = False) -> bytes:
    """The fiche (or the affiche) of one structure the person sees, over its own window."""
    today = today or date.today()
    assessment = structure_assessment(con, access, code, period, today)
    if affiche:
        return affiche_pdf(assessment, code, today)
    return fiche_pdf(assessment, code, today, actions.listing(con, access, structure=code))


def method_sentences() -> list[str]:
    """The method in two sentences: the first sentence of each rule of METHOD_RULES, from the one method text."""
    lines = {line.partition(" : ")[0]: line for line in method.method_lines()}
    return [lines[rule].split(". ")[0].rstrip(".") + "." for rule in METHOD_RULES]


# --- Drawing ---------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _register_fonts() -> None:
    for name, file in FONT_FILES.items():
        path = FONT_DIR / file
        if not path.is_file():
            raise FicheError(f"Police introuvable : {path} (paquet Debian fonts-dejavu-core) ; "
                             "impossible de produire le PDF.")
        pdfmetrics.registerFont(TTFont(name, str(path)))


def _canvas(buffer: io.BytesIO, title: str, subject_words: str) -> Canvas:
    _register_fonts()
    # invariant: the same content gives the same bytes (no creation time), so a file can be compared.
    canvas = Canvas(buffer, pagesize=A4, invariant=1, lang="fr-FR")
    canvas.setTitle(title)
    canvas.setSubject(subject_words)
    canvas.setAuthor("Tableau de bord Services Publics+")
    canvas.setCreator("Tableau de bord Services Publics+")
    return canvas


def _wrap(words: str, font: str, size: float, width: float) -> list[str]:
    """Lines of at most ``width``, broken at ordinary spaces only: never inside « 80 % » or « 1 462 »
    (no-break spaces), which a generic splitter takes for spaces."""
    lines, current = [], ""
    for word in str(words).replace("\n", " ").split(" "):
        if not word:
            continue
        candidate = f"{current} {word}" if current else word
        if current and pdfmetrics.stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current]


def _lines(words: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """``words`` wrapped to ``width``, cut with « … » past ``max_lines``."""
    lines = _wrap(words, font, size, width)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and pdfmetrics.stringWidth(last + " …", font, size) > width:
        last = last[:-1]
    return [*kept[:-1], last.rstrip() + " …"]


def _write(canvas: Canvas, x: float, top: float, words: str, font: str, size: float, width: float,
           max_lines: int = 1, color=INK, leading: float | None = None) -> float:
    """Wrapped text whose first line's top (its capitals, accents aside) is at ``top``; returns the bottom of the
    last line (its descenders)."""
    leading = leading or size * 1.22
    canvas.setFont(font, size)
    canvas.setFillColor(color)
    y = top - size * ASCENT
    for line in _lines(words, font, size, width, max_lines):
        canvas.drawString(x, y, line)
        y -= leading
    return y + leading - size * DESCENT


def _height(words: str, font: str, size: float, width: float, max_lines: int, leading: float | None = None) -> float:
    """How far :func:`_write` goes down for these words: from the first line's top to the last line's bottom."""
    lines = len(_lines(words, font, size, width, max_lines))
    return (lines - 1) * (leading or size * 1.22) + size * (ASCENT + DESCENT)


def _hatch(canvas: Canvas, x: float, y: float, width: float, height: float) -> None:
    """Diagonal lines over a band: « aucun » reads apart from bronze in black and white too."""
    canvas.saveState()
    path = canvas.beginPath()
    path.rect(x, y, width, height)
    canvas.clipPath(path, stroke=0, fill=0)
    canvas.setStrokeColor(LEVEL_INKS["aucun"])
    canvas.setLineWidth(0.35)
    step = 3.5
    position = x - height
    while position < x + width:
        canvas.line(position, y, position + height, y + height)
        position += step
    canvas.restoreState()


def _band(canvas: Canvas, level: str, x: float, y: float, width: float, height: float, name: str | None) -> None:
    canvas.setFillColor(BAND_FILLS[level])
    canvas.rect(x, y, width, height, stroke=0, fill=1)
    if level == "aucun":
        _hatch(canvas, x, y, width, height)
    size = 5.5
    name_width = pdfmetrics.stringWidth(name or "", REGULAR, size)
    if name and name_width + 3 < width:
        if level == "aucun":  # the word on a clear patch of the hatching
            canvas.setFillColor(white)
            canvas.rect(x + (width - name_width) / 2 - 1, y + 1.2, name_width + 2, height - 2.4, stroke=0, fill=1)
        canvas.setFont(REGULAR, size)
        canvas.setFillColor(LEVEL_INKS[level])
        canvas.drawCentredString(x + width / 2, y + (height - size) / 2 + 1, name)


def _marker(canvas: Canvas, x: float, y: float, height: float, color=BLUE) -> None:
    """The structure's value: a line across the bar and a triangle above it."""
    canvas.setStrokeColor(color)
    canvas.setFillColor(color)
    canvas.setLineWidth(1.6)
    canvas.line(x, y - 1.5, x, y + height + 1.5)
    path = canvas.beginPath()
    path.moveTo(x - 3.2, y + height + 6)
    path.lineTo(x + 3.2, y + height + 6)
    path.lineTo(x, y + height + 1.5)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def _yes_no_bar(canvas: Canvas, row: dict, x: float, y: float, width: float, height: float) -> None:
    half = width / 2
    _band(canvas, "aucun", x, y, half, height, "non")
    _band(canvas, "or", x + half, y, half, height, "oui")
    if pd.notna(row["value"]):  # beside the band's word, not over it
        _marker(canvas, x + half * (1.8 if row["value"] >= 0.5 else 0.8), y, height)


def _bullet_chart(canvas: Canvas, row: dict, x: float, y: float, width: float, height: float) -> None:
    """Where the value sits among the bronze, argent and or thresholds; the better side always on the right
    (delays read from right to left of their numbers), each threshold written under its tick."""
    if row["unit"] == "oui/non":
        _yes_no_bar(canvas, row, x, y, width, height)
        return
    axis = axis_range(row, [row["value"]] if pd.notna(row["value"]) else [], 0.25)
    bands = band_edges(row, *axis) if axis else []
    if not bands:
        _write(canvas, x, y + height, "seuils non définis", ITALIC, 6.5, width, color=GREY)
        return
    low, high = axis
    reverse = row["direction"] == "baisse"

    def at(value: float) -> float:
        share = (value - low) / (high - low) if high > low else 0.5
        return x + width * ((1 - share) if reverse else share)

    for level, lower, upper in bands:
        left, right = sorted((at(lower), at(upper)))
        _band(canvas, level, left, y, right - left, height, level)
    canvas.setFont(REGULAR, 5.5)
    canvas.setFillColor(GREY)
    canvas.setStrokeColor(GREY)
    canvas.setLineWidth(0.5)
    for level in ("bronze", "argent", "or"):
        tick = at(row[level])
        canvas.line(tick, y - 1.5, tick, y + height)
        canvas.drawCentredString(tick, y - 7.5, text.format_number_fr(row[level], 1, trim=True))
    if pd.notna(row["value"]):
        judged = row["status"] != "echantillon_insuffisant"
        _marker(canvas, at(min(max(row["value"], low), high)), y, height, BLUE if judged else GREY)


# --- The fiche de résultats --------------------------------------------------------------------------------------

# Columns of the indicators' table: label, value, chart, what the next level needs and data freshness.
COLUMNS = (150, 82, 178, 125)
ROW_HEIGHTS = (28, 40)  # the least a row needs (a chart, three lines of words), the most it takes
GAP = 10  # between two blocks
ENGAGEMENT_LABEL_WIDTH = WIDTH - 24 - 90
METHOD_LINK = " Méthode complète : page « Référentiel » du tableau de bord (docs/methode.md)."


def fiche_pdf(assessment: compliance.Assessment, code: str, today: date,
              improvements: pd.DataFrame | None = None) -> bytes:
    """The fiche de résultats of one structure of ``assessment``: one A4 page. The indicators' rows take the room
    the other blocks leave (a structure with eight blocking indicators has a taller level block).
    ``improvements``: its improvement actions (actions.listing), the latest ACTIONS_LISTED of them listed."""
    about = subject(assessment, code, today)
    listed = _action_lines(improvements)
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"Fiche de résultats – {about.name}",
                     f"Services Publics+ : résultats de {about.code} sur {about.window_words}")
    top = _fiche_header(canvas, about, PAGE_HEIGHT - MARGIN)
    top = _fiche_level(canvas, about, top - 8)
    below = _engagements_height(about) + _actions_height(listed) + _method_height() + 3 * GAP + MARGIN
    top = _fiche_indicators(canvas, about, top - GAP, room=top - GAP - below)
    top = _fiche_engagements(canvas, about, top - GAP)
    if listed:
        top = _fiche_actions(canvas, listed, top - GAP)
    _fiche_method(canvas, top - GAP)
    _footer(canvas, f"Fiche éditée le {text.format_date(today)} · tableau de bord Services Publics+ · "
                    f"référentiel {about.version}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _fiche_header(canvas: Canvas, about: Subject, top: float) -> float:
    _write(canvas, MARGIN, top, "SERVICES PUBLICS+ · FICHE DE RÉSULTATS", BOLD, 8, WIDTH, color=BLUE)
    top = _write(canvas, MARGIN, top - 13, about.name, BOLD, 15, WIDTH, max_lines=2)
    structure = about.structure
    where = [about.code, structure["network"], structure["typologie"],
             f"département {structure['departement']}" if isinstance(structure["departement"], str) else None,
             structure["region"]]
    top = _write(canvas, MARGIN, top - 4, " · ".join(w for w in where if isinstance(w, str) and w), REGULAR, 8.5,
                 WIDTH, color=GREY)
    facts = (("Période évaluée", about.window_words), ("Référentiel", f"version {about.version}"),
             ("Données au", text.format_date(about.latest) if about.latest else "aucune donnée reçue"),
             ("Date de la fiche", text.format_date(about.today)))
    top -= 6
    canvas.setStrokeColor(LIGHT_GREY)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, top, MARGIN + WIDTH, top)
    widths = (290, 82, 82, 81)
    x = MARGIN
    bottom = top
    for (name, value), width in zip(facts, widths):
        _write(canvas, x, top - 4, name, REGULAR, 6.5, width - 6, color=GREY)
        bottom = min(bottom, _write(canvas, x, top - 13, value, BOLD, 8.5, width - 6, max_lines=2))
        x += width
    return bottom


def _fiche_level(canvas: Canvas, about: Subject, top: float) -> float:
    structure, level = about.structure, str(about.structure["level"])
    sentences = blocking_sentences(about.indicators, structure["blocking"])
    next_level = compliance.LEVELS[min(int(structure["level_rank"]) + 1, len(compliance.LEVELS) - 1)]
    text_width = WIDTH - 34
    lines = 2 if len(sentences) <= 5 else 1  # eight blocking indicators still leave room for the rest
    box = 52 + sum(_height(s, REGULAR, 7.5, text_width, lines) + 1.5 for s in sentences)
    canvas.setFillColor(HexColor("#F6F6F6"))
    canvas.rect(MARGIN, top - box, WIDTH, box, stroke=0, fill=1)
    canvas.setFillColor(LEVEL_INKS[level])
    canvas.rect(MARGIN, top - box, 5, box, stroke=0, fill=1)
    x = MARGIN + 14
    _write(canvas, x, top - 7, "Niveau atteignable sur la période", REGULAR, 7.5, WIDTH, color=GREY)
    _write(canvas, x, top - 18, text.LEVEL_WORDS[level], BOLD, 14, 200, color=LEVEL_INKS[level])
    heading = f"Ce qui bloque le niveau {next_level} :" if sentences else \
        "Niveau or atteint : aucun indicateur ne bloque."
    y = _write(canvas, x, top - 37, heading, BOLD, 8, text_width)
    for sentence in sentences:
        _write(canvas, x + 2, y - 1.5, "•", REGULAR, 7.5, 8)
        y = _write(canvas, x + 10, y - 1.5, sentence, REGULAR, 7.5, text_width, max_lines=lines)
    top -= box
    label = (label_sentence(structure, about.today) if isinstance(structure["label_level"], str)
             else "Aucun label attribué à cette structure.")
    return _write(canvas, MARGIN, top - 7, label, BOLD if about.label_valid else REGULAR, 8, WIDTH, max_lines=2)


def _fiche_indicators(canvas: Canvas, about: Subject, top: float, room: float) -> float:
    _write(canvas, MARGIN, top, "Indicateurs : valeur sur la période et seuils bronze, argent, or", BOLD, 10, WIDTH,
           color=BLUE)
    top -= 16
    headers = ("Indicateur", "Valeur", "Position entre les seuils (le mieux à droite)", "Niveau suivant · données")
    x = MARGIN
    for header, width in zip(headers, COLUMNS):
        _write(canvas, x + 3, top, header, BOLD, 6.5, width - 6, color=GREY)
        x += width
    top -= 10
    legend = ("Zones entre les seuils : aucun (hachuré), bronze, argent, or ; le trait bleu marque la valeur (gris "
              "quand l'échantillon est insuffisant) ; pour les délais et attentes, plus bas est mieux : leur échelle "
              "va de droite à gauche.")
    rows_room = room - 26 - _height(legend, ITALIC, 6.5, WIDTH, 2) - 3
    height = min(max(rows_room / max(len(about.indicators), 1), ROW_HEIGHTS[0]), ROW_HEIGHTS[1])
    blocking = set(about.structure["blocking"])
    for row in about.indicators.to_dict("records"):
        _indicator_row(canvas, row, row["indicator_code"] in blocking, top, height)
        top -= height
    return _write(canvas, MARGIN, top - 3, legend, ITALIC, 6.5, WIDTH, max_lines=2, color=GREY)


def _indicator_row(canvas: Canvas, row: dict, blocking: bool, top: float, height: float) -> None:
    if blocking:
        canvas.setFillColor(BLOCKING_FILL)
        canvas.rect(MARGIN, top - height, WIDTH, height, stroke=0, fill=1)
    canvas.setStrokeColor(LIGHT_GREY)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, top - height, MARGIN + WIDTH, top - height)
    label_w, value_w, chart_w, need_w = COLUMNS
    x = MARGIN + 3
    bottom = _write(canvas, x, top - 4, row["label"], BOLD, 7.5, label_w - 8, max_lines=2)
    details = f"engagement {row['engagement']} · {row['periodicity']}" + (" · bloquant" if blocking else "")
    _write(canvas, x, bottom - 1, details, REGULAR, 6.2, label_w - 8, color=GREY)
    x = MARGIN + label_w + 3
    status = str(row["status"])
    _write(canvas, x, top - 4, text.format_compact(row["value"], row["unit"]), BOLD, 9.5, value_w - 6)
    _write(canvas, x, top - 16, text.status_word(status), REGULAR, 6.5, value_w - 6,
           color=STATUS_INKS.get(status, GREY))
    _write(canvas, x, top - 24, f"niveau {row['level']}", REGULAR, 6.5, value_w - 6,
           color=LEVEL_INKS[str(row["level"])])
    x = MARGIN + label_w + value_w + 4
    _bullet_chart(canvas, row, x, top - height / 2 - 4, chart_w - 12, 9)
    x = MARGIN + label_w + value_w + chart_w + 2
    need = wording.gap_sentence(row) or "niveau or atteint"
    bottom = _write(canvas, x, top - 4, need, REGULAR, 6.5, need_w - 4, max_lines=3)
    _write(canvas, x, bottom - 1, _freshness_words(row), ITALIC, 6.2, need_w - 4,
           color=STATUS_INKS["conforme"] if row["freshness"] == "a_jour" else STATUS_INKS["manquant"])


def _freshness_words(row: dict) -> str:
    """« à jour (reçu jusqu'au 31/10/2026) », « en retard (reçu jusqu'au …) », « manquant (jamais reçu) »."""
    received = pd.to_datetime(row["last_period_end"])
    when = "jamais reçu" if pd.isna(received) else f"reçu jusqu'au {text.format_date(received)}"
    return f"{text.status_word(str(row['freshness']))} ({when})"


def _engagements_height(about: Subject) -> float:
    return 15 + sum(_height(label, REGULAR, 7.5, ENGAGEMENT_LABEL_WIDTH - 6, 2) + 5
                    for label in about.engagements["label"])


def _fiche_engagements(canvas: Canvas, about: Subject, top: float) -> float:
    _write(canvas, MARGIN, top, f"Les {len(about.engagements)} engagements", BOLD, 10, WIDTH, color=BLUE)
    top -= 15
    for row in about.engagements.to_dict("records"):
        status = str(row["status"])
        _write(canvas, MARGIN + 3, top, f"{row['number']}.", BOLD, 7.5, 20)
        bottom = _write(canvas, MARGIN + 24, top, row["label"], REGULAR, 7.5, ENGAGEMENT_LABEL_WIDTH - 6,
                        max_lines=2)
        _write(canvas, MARGIN + 24 + ENGAGEMENT_LABEL_WIDTH, top, text.status_word(status), BOLD, 7.5, 90,
               color=STATUS_INKS.get(status, GREY))
        top = bottom - 3
        canvas.setStrokeColor(LIGHT_GREY)
        canvas.setLineWidth(0.4)
        canvas.line(MARGIN, top + 1, MARGIN + WIDTH, top + 1)
        top -= 2
    return top


ACTIONS_LISTED = 3


def _action_lines(improvements: pd.DataFrame | None) -> list[str]:
    """« Rappel des usagers en attente, depuis le 15/04/2025 (Taux de décroché) », the latest first."""
    if improvements is None or improvements.empty:
        return []
    return [f"{row['title']}, depuis le {text.format_date(row['start_on'])} ({row['indicator_labels']})"
            for row in improvements.head(ACTIONS_LISTED).to_dict("records")]


def _actions_height(lines: list[str]) -> float:
    return 14 + sum(_height(line, REGULAR, 7.5, WIDTH - 10, 1) + 2 for line in lines) if lines else 0


def _fiche_actions(canvas: Canvas, lines: list[str], top: float) -> float:
    _write(canvas, MARGIN, top, "Actions d'amélioration", BOLD, 10, WIDTH, color=BLUE)
    top -= 14
    for line in lines:
        top = _write(canvas, MARGIN + 3, top, f"• {line}", REGULAR, 7.5, WIDTH - 10, max_lines=1) - 2
    return top


def _method_height() -> float:
    return 14 + _height(" ".join(method_sentences()) + METHOD_LINK, REGULAR, 7, WIDTH, 5)


def _fiche_method(canvas: Canvas, top: float) -> float:
    _write(canvas, MARGIN, top, "Méthode", BOLD, 10, WIDTH, color=BLUE)
    return _write(canvas, MARGIN, top - 14, " ".join(method_sentences()) + METHOD_LINK, REGULAR, 7, WIDTH,
                  max_lines=5)


def _footer(canvas: Canvas, words: str) -> None:
    _write(canvas, MARGIN, MARGIN - 8, words, REGULAR, 6.5, WIDTH, color=GREY)


# --- The affiche -------------------------------------------------------------------------------------------------

PROMISE_WIDTH = 215
AFFICHE_STATUS = {"conforme": "✓ objectif atteint", "non_conforme": "objectif pas encore atteint",
                  "echantillon_insuffisant": "trop peu de réponses pour conclure",
                  "manquant": "pas encore mesuré sur la période"}


def affiche_pdf(assessment: compliance.Assessment, code: str, today: date) -> bytes:
    """The affiche des résultats of one structure of ``assessment``: an A4 poster, each figure beside the
    engagement it keeps (the promise, in the référentiel's words)."""
    about = subject(assessment, code, today)
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"Nos résultats – {about.name}",
                     f"Services Publics+ : affiche des résultats de {about.code} sur {about.window_words}")
    top = _affiche_header(canvas, about)
    measured = about.engagements["number"].isin(about.indicators["engagement"])
    for engagement in about.engagements[measured].to_dict("records"):
        rows = about.indicators[about.indicators["engagement"] == engagement["number"]].to_dict("records")
        top = _promise_block(canvas, engagement, rows, top)
    others = about.engagements[~measured]
    if len(others):
        promises = " ; ".join(f"{r['number']}. {r['label']}" for r in others.to_dict("records"))
        _write(canvas, MARGIN, top - 4, f"Nos autres engagements : {promises}.", REGULAR, 8.5, WIDTH,
               max_lines=4, color=GREY)
    _write(canvas, MARGIN, MARGIN + 30, "Services Publics+ : des services publics plus proches, plus efficaces, "
                                        "plus simples. Nous publions nos résultats pour que vous puissiez les juger.",
           ITALIC, 9, WIDTH, max_lines=2, color=BLUE)
    _footer(canvas, f"Résultats publiés le {text.format_date(today)} · période : {about.window_words} · "
                    f"référentiel Services Publics+ {about.version}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _affiche_header(canvas: Canvas, about: Subject) -> float:
    band = 92
    canvas.setFillColor(BLUE)
    canvas.rect(0, PAGE_HEIGHT - band, PAGE_WIDTH, band, stroke=0, fill=1)
    _write(canvas, MARGIN, PAGE_HEIGHT - 24, "Services Publics+", BOLD, 13, WIDTH, color=white)
    _write(canvas, MARGIN, PAGE_HEIGHT - 44, "Nos résultats de qualité de service", BOLD, 26, WIDTH, color=white)
    top = _write(canvas, MARGIN, PAGE_HEIGHT - band - 16, about.name, BOLD, 18, WIDTH, max_lines=2)
    top = _write(canvas, MARGIN, top - 6, f"Résultats des {about.window_words}" if about.window.text ==
                 periods.ROLLING else f"Résultats : {about.window_words}", REGULAR, 12, WIDTH)
    structure = about.structure
    if about.label_valid:
        label = (f"Label Services Publics+ {structure['label_level']}, valable jusqu'au "
                 f"{text.format_date(structure['label_expires_on'])}")
        top = _write(canvas, MARGIN, top - 8, label, BOLD, 12, WIDTH, color=LEVEL_INKS.get(
            structure["label_level"], INK))
    canvas.setStrokeColor(BLUE)
    canvas.setLineWidth(1.2)
    canvas.line(MARGIN, top - 10, MARGIN + WIDTH, top - 10)
    return top - 18


def _promise_block(canvas: Canvas, engagement: dict, rows: list[dict], top: float) -> float:
    """One engagement: its promise on the left, its figures on the right; returns the block's bottom."""
    _write(canvas, MARGIN, top - 4, f"Notre engagement n° {engagement['number']}", BOLD, 8.5, PROMISE_WIDTH,
           color=BLUE)
    bottom = _write(canvas, MARGIN, top - 17, engagement["label"], ITALIC, 12, PROMISE_WIDTH, max_lines=4,
                    leading=14.5)
    x = MARGIN + PROMISE_WIDTH + 15
    width = (MARGIN + WIDTH - x) / len(rows)
    for row in rows:
        bottom = min(bottom, _figure(canvas, _figure_parts(row, width - 10), x, top - 4, width - 10))
        x += width
    canvas.setStrokeColor(LIGHT_GREY)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, bottom - 8, MARGIN + WIDTH, bottom - 8)
    return bottom - 12


def _figure_parts(row: dict, width: float) -> list[tuple]:
    """A large figure, its unit, what it measures, the programme's objective and whether it is met, in plain
    words: (words, font, size, max lines, colour) from top to bottom."""
    value, unit = row["value"], str(row["unit"])
    if pd.isna(value):
        number, unit_words = "–", ""
    elif unit == "oui/non":
        number, unit_words = ("Oui" if value >= 0.5 else "Non"), ""
    elif unit.startswith("%"):
        number, unit_words = text.format_percent(value, 0), ""
    else:
        number, _, unit_words = text.format_value(value, unit, 1, trim=True).partition(" ")
    status = str(row["status"])
    parts = [(number, BOLD, 28 if pdfmetrics.stringWidth(number, BOLD, 28) <= width else 20, 1, BLUE)]
    if unit_words:
        parts.append((unit_words, BOLD, 9, 1, INK))
    return [*parts, (row["label"], REGULAR, 8.5, 3, INK), (_objective(row), REGULAR, 7.5, 2, GREY),
            (AFFICHE_STATUS.get(status, ""), BOLD, 7.5, 2, STATUS_INKS.get(status, GREY))]


def _figure(canvas: Canvas, parts: list[tuple], x: float, top: float, width: float) -> float:
    for words, font, size, max_lines, color in parts:
        top = _write(canvas, x, top, words, font, size, width, max_lines=max_lines, color=color) - 3
    return top


def _objective(row: dict) -> str:
    """« Objectif : au moins 80 % », « Objectif : au plus 30 minutes »: the bronze threshold, the programme's
    floor."""
    if row["unit"] == "oui/non":
        return "Objectif : publier nos résultats chaque année"
    bound = "au plus" if row["direction"] == "baisse" else "au moins"
    return f"Objectif : {bound} {text.format_value(row['bronze'], row['unit'], 1, trim=True)}"
