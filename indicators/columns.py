"""What a person's own spreadsheet means: its headers read by meaning, the columns they map by hand, and the
structure a file without a structure column is about.

A header is compared to the référentiel by its *meaning key*: the normalised words without units, filler words
(« moyen », « nombre de », « nb ») and plural marks, so « Délai moyen de réponse aux courriels (jours) » is the
référentiel's « délai de réponse aux courriels ». A column holding numbers that still matches nothing is never
dropped silently: the person maps it (« EN-TÊTE=code ») or ignores it, and the choice is remembered for the
file's headers (see indicators.mappings)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from indicators.referentiel import Indicator, Referentiel
from indicators.text import normalize_header

# Words that carry no meaning of their own in a column title: articles, « moyen », units and counting words.
FILLER_WORDS = frozenset({
    "de", "d", "du", "des", "la", "le", "les", "l", "a", "au", "aux", "en", "et", "par", "pour", "sur",
    "moyen", "moyenne", "moyens", "moyennes", "nb", "nbre", "nombre", "total", "mensuel", "mensuelle",
    "jour", "jours", "j", "minute", "minutes", "min", "mn", "heure", "heures", "pourcentage", "pct", "percent",
})

# A column maps onto an indicator's value or one of its counts; the count is written after a colon.
COUNT_ROLES = {"numerateur": "numérateur", "denominateur": "dénominateur", "effectif": "effectif"}


def _word(token: str) -> str:
    """« courriels » → « courriel »: a plural mark is no difference of meaning."""
    return token[:-1] if len(token) > 3 and token[-1] in "sx" else token


def meaning_key(header: object) -> str:
    """The words of a header that carry its meaning, in order, singular: « Nb d'appels reçus » → ``appel_recu``."""
    words = [_word(t) for t in normalize_header(header).split("_") if t and t not in FILLER_WORDS]
    return "_".join(words)


def _words(header: object) -> set[str]:
    return {w for w in meaning_key(header).split("_") if w}


@dataclass(frozen=True)
class Target:
    """Where a column goes: an indicator's value (role None) or one of its counts."""

    code: str
    role: str | None = None  # None (the value), « numerateur », « denominateur » or « effectif »

    @property
    def text(self) -> str:
        """As written on the command line: « decroche » or « decroche:numerateur »."""
        return self.code if self.role is None else f"{self.code}:{self.role}"


def targets_of(indicator: Indicator) -> list[Target]:
    """The value of every indicator; the counts an indicator of its kind can have."""
    found = [Target(indicator.code)]
    if indicator.kind == "ratio":
        found += [Target(indicator.code, "numerateur"), Target(indicator.code, "denominateur")]
    if not indicator.is_yes_no:
        found.append(Target(indicator.code, "effectif"))
    return found


def target_label(target: Target, referentiel: Referentiel) -> str:
    """« Taux de décroché : numérateur (appels décrochés) », for a select or a message."""
    indicator = referentiel.indicator(target.code)
    label = indicator.label if indicator else target.code
    if target.role is None:
        return f"{label} (valeur)"
    extra = f" ({indicator.numerator_label})" if target.role == "numerateur" and indicator and \
        indicator.numerator_label else ""
    return f"{label} : {COUNT_ROLES[target.role]}{extra}"


def parse_target(text: str, referentiel: Referentiel) -> Target | None:
    """« decroche:numerateur » → Target, or None when the référentiel has no such indicator or count."""
    code, _, role = text.strip().partition(":")
    indicator = referentiel.indicator(code.strip())
    if indicator is None:
        return None
    target = Target(indicator.code, normalize_header(role) or None)
    return target if target in targets_of(indicator) else None


def _aliases(indicator: Indicator, role: str | None) -> tuple[str, ...]:
    if role is None:
        return (indicator.code, indicator.label, *indicator.aliases)
    return {"numerateur": indicator.numerator_aliases, "denominateur": indicator.denominator_aliases,
            "effectif": indicator.sample_aliases}[role]


def candidates(header: str, referentiel: Referentiel, limit: int = 5) -> list[Target]:
    """The likeliest targets for a header nobody recognised, best first: the most words shared with a name of
    the target (its label, aliases and counts' names)."""
    words = _words(header)
    scored = []
    for indicator in referentiel.indicators:
        for target in targets_of(indicator):
            names = _aliases(indicator, target.role) or (indicator.label,)
            best = max(len(words & _words(n)) / len(words | _words(n) or {""}) for n in names)
            if best > 0:
                scored.append((-best, target.role is not None, target.text, target))
    return [t for *_, t in sorted(scored)[:limit]]


def all_targets(referentiel: Referentiel) -> list[Target]:
    return [t for indicator in referentiel.indicators for t in targets_of(indicator)]


def fingerprint(headers: list[str] | tuple[str, ...]) -> str:
    """The same headers in the same order (case, accents and units aside) give the same fingerprint: a
    director's monthly spreadsheet is known again."""
    text = "\x1f".join(normalize_header(h) for h in headers)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Choices:
    """What the person said about a file the layouts cannot read alone. Hashable: it keys the page's cache.

    - ``structure``: the structure a file without a structure column is about;
    - ``columns``: (header as written, target text) for columns mapped by hand;
    - ``ignored``: headers as written, ignored on purpose;
    - ``names`` / ``networks``: (code, text) for the structures the file creates;
    - ``remembered``: (fingerprint, columns, ignored) saved earlier for files with these headers."""

    structure: str | None = None
    columns: tuple[tuple[str, str], ...] = ()
    ignored: tuple[str, ...] = ()
    names: tuple[tuple[str, str], ...] = ()
    networks: tuple[tuple[str, str], ...] = ()
    remembered: tuple[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]], ...] = ()

    def given(self) -> bool:
        """Columns mapped or ignored by the person for this file (what a confirmed import remembers)."""
        return bool(self.columns or self.ignored)

    def for_headers(self, headers: list[str] | tuple[str, ...]) -> tuple[dict, dict, bool]:
        """The column choices that apply to these headers: the person's own, else those remembered for the same
        fingerprint. Returns ({header key: (header as written, target text)}, {header key: header as written},
        remembered?), keys being normalised headers."""
        columns, ignored, used_memory = self.columns, self.ignored, False
        if not (columns or ignored):
            known = fingerprint(headers)
            for saved, saved_columns, saved_ignored in self.remembered:
                if saved == known:
                    columns, ignored, used_memory = saved_columns, saved_ignored, True
                    break
        return ({normalize_header(h): (h, t) for h, t in columns}, {normalize_header(h): h for h in ignored},
                used_memory)
