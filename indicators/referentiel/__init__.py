"""The référentiel as data: engagements, indicators and thresholds read from the TOML files here."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from indicators.text import normalize_header

REFERENTIEL_DIR = Path(__file__).parent
DEFAULT_VERSION = "2023"
LEVELS = ("bronze", "argent", "or")
DIRECTIONS = ("hausse", "baisse")
KINDS = ("ratio", "mean", "latest")
PERIODICITIES = ("mensuelle", "trimestrielle", "semestrielle", "annuelle")


@dataclass(frozen=True)
class Engagement:
    number: int
    theme: str
    label: str


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    engagement: int | None
    unit: str
    direction: str
    kind: str
    periodicity: str
    required: bool = True
    min_n: int | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    min_n_provenance: str = ""
    # What the numerator counts, for gaps in words: « 412 appels décrochés de plus ».
    numerator_label: str = ""
    aliases: tuple[str, ...] = ()
    numerator_aliases: tuple[str, ...] = ()
    denominator_aliases: tuple[str, ...] = ()
    sample_aliases: tuple[str, ...] = ()

    @property
    def is_rate(self) -> bool:
        return self.unit.startswith("%")

    @property
    def is_yes_no(self) -> bool:
        return self.unit == "oui/non"

    def header_keys(self) -> set[str]:
        """Normalised headers that name this indicator's value column in a wide file."""
        return {normalize_header(h) for h in (self.code, self.label, *self.aliases)}


@dataclass(frozen=True)
class Referentiel:
    version: str
    title: str
    source: str
    engagements: tuple[Engagement, ...]
    indicators: tuple[Indicator, ...]

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)


def parse_referentiel(data: dict) -> Referentiel:
    """Build a Referentiel from the dict form of a TOML file, checking the values it relies on."""
    engagements = tuple(Engagement(int(e["number"]), e["theme"], e["label"]) for e in data["engagements"])
    numbers = {e.number for e in engagements}
    indicators = []
    for raw in data["indicators"]:
        ind = Indicator(
            code=raw["code"],
            label=raw["label"],
            engagement=raw.get("engagement"),
            unit=raw["unit"],
            direction=raw["direction"],
            kind=raw["kind"],
            periodicity=raw["periodicity"],
            required=bool(raw.get("required", True)),
            min_n=raw.get("min_n"),
            thresholds={k: float(v) for k, v in raw.get("thresholds", {}).items()},
            provenance=dict(raw.get("provenance", {})),
            min_n_provenance=raw.get("min_n_provenance", ""),
            numerator_label=raw.get("numerator_label", ""),
            aliases=tuple(raw.get("aliases", ())),
            numerator_aliases=tuple(raw.get("numerator_aliases", ())),
            denominator_aliases=tuple(raw.get("denominator_aliases", ())),
            sample_aliases=tuple(raw.get("sample_aliases", ())),
        )
        if ind.direction not in DIRECTIONS or ind.kind not in KINDS or ind.periodicity not in PERIODICITIES:
            raise ValueError(f"Référentiel {data['version']} : indicateur {ind.code} mal décrit")
        if ind.engagement is not None and ind.engagement not in numbers:
            raise ValueError(f"Référentiel {data['version']} : engagement {ind.engagement} inconnu")
        if set(ind.thresholds) - set(LEVELS):
            raise ValueError(f"Référentiel {data['version']} : niveau inconnu pour {ind.code}")
        indicators.append(ind)
    return Referentiel(str(data["version"]), data["title"], data.get("source", ""), engagements, tuple(indicators))


def load_referentiel_file(path: Path) -> Referentiel:
    with open(path, "rb") as f:
        return parse_referentiel(tomllib.load(f))


def shipped_versions() -> list[Referentiel]:
    """Every référentiel version shipped as a TOML file, oldest first (by version name)."""
    return [load_referentiel_file(p) for p in sorted(REFERENTIEL_DIR.glob("*.toml"))]


def load_default() -> Referentiel:
    return load_referentiel_file(REFERENTIEL_DIR / f"{DEFAULT_VERSION}.toml")
