"""Periods and dates as French files write them, turned into (start, end) dates; windows for compliance."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from indicators.text import month_words, period_words, strip_accents

MONTHS_FR = {
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
    "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9,
    "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12,
}
MONTHS_PER_PERIODICITY = {"mensuelle": 1, "trimestrielle": 3, "semestrielle": 6, "annuelle": 12}
# Years a quality indicator can plausibly describe. Beyond them a date is a typo (0025, 20255) and would
# break the arithmetic of windows (the window before year 1, the period after 9999).
FIRST_YEAR, LAST_YEAR = 1900, 2199
YEARS_TEXT = f"une année entre {FIRST_YEAR} et {LAST_YEAR}"


class PeriodError(ValueError):
    """A period that cannot be read; ``kind`` is « impossible » (a date that does not exist), « annee » (a year
    outside FIRST_YEAR–LAST_YEAR) or « inconnu »."""

    def __init__(self, kind: str, text: str):
        super().__init__(text)
        self.kind = kind

    @property
    def rule(self) -> str:
        """The validation rule this error breaks (see problems.RULES)."""
        return {"impossible": "date_possible", "annee": "annee_plausible"}.get(self.kind, "periode_reconnue")


def _checked_year(year: int, text: str) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError("annee", text)
    return year


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:  # beyond what a date can hold
        raise PeriodError("annee", f"{day:%d/%m/%Y} + {months} mois")
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _checked_date(year: int, month: int, day: int, text: str) -> date:
    _checked_year(year, text)
    try:
        return date(year, month, day)
    except ValueError:
        # Never swap day and month to make a date fit: 12/31/2025 is refused, not read as 31 December.
        raise PeriodError("impossible", text) from None


def _checked_month(year: int, month: int, text: str) -> tuple[date, date]:
    _checked_year(year, text)
    if not 1 <= month <= 12:
        raise PeriodError("impossible", text)
    return date(year, month, 1), month_end(year, month)


def _span(year: int, index: int, months: int, text: str) -> tuple[date, date]:
    _checked_year(year, text)
    if not 1 <= index <= 12 // months:
        raise PeriodError("impossible", text)
    first = (index - 1) * months + 1
    return date(year, first, 1), month_end(year, first + months - 1)


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_FR_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YEAR = re.compile(r"^(\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[-/](\d{4})$")
_QUARTER_AFTER = re.compile(r"^(\d{4})\s*[-_ ]?\s*[TQ]([0-9])$")
_QUARTER_BEFORE = re.compile(r"^[TQ]([0-9])\s*[-_ /]?\s*(\d{4})$")
_SEMESTER_AFTER = re.compile(r"^(\d{4})\s*[-_ ]?\s*S([0-9])$")
_SEMESTER_BEFORE = re.compile(r"^S([0-9])\s*[-_ /]?\s*(\d{4})$")
_NAMED_MONTH = re.compile(r"^([a-z]+)\.?\s*[-/ ]?\s*(\d{4})$")


def parse_date(text: str) -> date:
    """``2025-12-31`` or ``31/12/2025`` (a time of midnight, as Excel adds, is accepted)."""
    value = text.strip()
    if m := _ISO_DATE.match(value):
        return _checked_date(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _FR_DATE.match(value):
        return _checked_date(int(m[3]), int(m[2]), int(m[1]), text)
    raise PeriodError("inconnu", text)


def parse_period(text: str) -> tuple[date, date]:
    """A period as users write it: ``2025``, ``2025-T1``, ``T1 2025``, ``2025-S2``, ``2025-03``,
    ``03/2025``, ``mars 2025``, or a single date; returns its first and last day."""
    value = strip_accents(text.strip()).upper()
    if m := _YEAR.match(value):
        year = _checked_year(int(m[1]), text)
        return date(year, 1, 1), date(year, 12, 31)
    if (m := _QUARTER_AFTER.match(value)) or (m := _QUARTER_BEFORE.match(value)):
        year, index = (int(m[1]), int(m[2])) if m.re is _QUARTER_AFTER else (int(m[2]), int(m[1]))
        return _span(year, index, 3, text)
    if (m := _SEMESTER_AFTER.match(value)) or (m := _SEMESTER_BEFORE.match(value)):
        year, index = (int(m[1]), int(m[2])) if m.re is _SEMESTER_AFTER else (int(m[2]), int(m[1]))
        return _span(year, index, 6, text)
    if m := _YEAR_MONTH.match(value):
        return _checked_month(int(m[1]), int(m[2]), text)
    if m := _MONTH_YEAR.match(value):
        return _checked_month(int(m[2]), int(m[1]), text)
    if m := _NAMED_MONTH.match(value.lower()):
        if m[1] in MONTHS_FR:
            return _checked_month(int(m[2]), MONTHS_FR[m[1]], text)
        raise PeriodError("inconnu", text)
    day = parse_date(text)
    return day, day


def period_from_frequency(start: date, frequency: str) -> date:
    """Last day of a period that starts on ``start`` and lasts one ``frequency`` (« trimestrielle »…)."""
    key = strip_accents(frequency.strip().lower())
    months = MONTHS_PER_PERIODICITY.get(key)
    if months is None:
        raise PeriodError("inconnu", frequency)
    end = add_months(start, months) - timedelta(days=1)
    _checked_year(end.year, frequency)
    return end


# Compliance windows: the one home of their grammar. Here rather than in the engine because a window is a
# period of the same grammar (the engine only adds the latest data, for the rolling window), and because the
# settings check the default window at start without opening the database.
ROLLING = "12m"  # the 12 months up to the latest data received
WINDOW_CHOICES = f"2025, 2025-T2, 2025-03 ou {ROLLING}"


@dataclass(frozen=True)
class Window:
    """A compliance window: ``text`` as given (``2025``, ``2025-T2``, ``2025-03``, ``12m``)."""

    text: str
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.text == ROLLING:
            return f"12 mois glissants ({self.start:%m/%Y} – {self.end:%m/%Y})"
        return self.text

    @property
    def months(self) -> int:
        """How many calendar months the window spans."""
        return months_between(self.start, self.end)

    def months_words(self) -> str:
        """The months the window covers, said: « de novembre 2024 à octobre 2025 » (« octobre 2025 » for one)."""
        first, last = month_words(self.start), month_words(self.end)
        # « d'avril », « d'août », « d'octobre »: the elision French writes before a vowel.
        since = "d'" if first[0] in "aeiouy" else "de "
        return last if first == last else f"{since}{first} à {last}"

    def previous(self) -> "Window":
        """The window of the same length just before (for deltas)."""
        start = add_months(self.start, -self.months)
        return Window(f"précédent:{self.text}", start, self.start - timedelta(days=1))


class WindowError(ValueError):
    """A window that cannot be read; the message is French."""


def parse_window(text: str) -> tuple[date, date]:
    """A fixed compliance window: a year ``2025``, a quarter ``2025-T2`` or a month ``2025-03``."""
    value = text.strip()
    if not (_YEAR.match(value) or _QUARTER_AFTER.match(value.upper()) or _YEAR_MONTH.match(value)):
        raise PeriodError("inconnu", text)
    return parse_period(value)


def fixed_window(text: str) -> Window | None:
    """The window ``text`` names, or None for the rolling window (its dates depend on the data).
    Anything else raises WindowError with a French message."""
    text = text.strip()
    if text == ROLLING:
        return None
    try:
        start, end = parse_window(text)
    except PeriodError as error:
        if error.kind == "annee":
            raise WindowError(f"Année impossible : « {text} » (attendu : {YEARS_TEXT}).") from None
        raise WindowError(f"Période non reconnue : « {text} » (attendu : {WINDOW_CHOICES}).") from None
    return Window(text, start, end)


def rolling_window(latest: date) -> Window:
    """The 12 months that end with the month of ``latest`` (the latest period end received)."""
    end = month_end(latest.year, latest.month)
    return Window(ROLLING, add_months(end.replace(day=1), -11), end)


def check_window(text: str) -> str:
    """``text`` stripped when it names a window, else WindowError (French): for settings read at start."""
    fixed_window(text)
    return text.strip()


def months_between(start: date, end: date) -> int:
    """Calendar months from the month of ``start`` to the month of ``end``, both counted (0 when end < start)."""
    return max((end.year - start.year) * 12 + end.month - start.month + 1, 0)


def is_complete(window: Window, latest: date) -> bool:
    """Whether the data, up to the month of ``latest`` (a month with data is complete), covers the whole window."""
    return window.end <= month_end(latest.year, latest.month)


def running_note(window: Window, latest: date | None) -> str:
    """« période en cours : 10 mois sur 12 » for a window the data does not cover yet, else empty."""
    if latest is None or is_complete(window, latest):
        return ""
    received = min(months_between(window.start, latest), window.months)
    return f"période en cours : {received} mois sur {window.months}"


def latest_complete(choices: list[str], latest: date | None) -> str | None:
    """The newest of ``choices`` (window texts, newest first) that the data covers whole: with data up to
    October 2026, « 2025 » among years, « 2026-T3 » among quarters, « 2026-10 » among months. The newest choice
    when none is complete; None without choices."""
    if latest is not None:
        for text in choices:
            window = fixed_window(text)
            if window is not None and is_complete(window, latest):
                return text
    return choices[0] if choices else None


def window_words(window: Window, latest: date | None) -> str:
    """The window as the pages say it: « 12 derniers mois, de novembre 2024 à octobre 2025 », or its text with
    « (période en cours : 10 mois sur 12) » while the data does not cover it."""
    if window.text == ROLLING:
        return f"12 derniers mois, {window.months_words()}"
    note = running_note(window, latest)
    return f"{period_words(window.text)} ({note})" if note else period_words(window.text)
