"""The file layouts users really have, recognised from their headers and mapped onto one long shape."""

from __future__ import annotations

from dataclasses import dataclass, field

from indicators.columns import Choices, Target, meaning_key, parse_target
from indicators.referentiel import Referentiel
from indicators.text import normalize_header

# Roles of the long staging shape every observation layout is mapped onto.
OBSERVATION_ROLES = (
    "structure_code", "structure_name", "network", "typologie", "indicator", "indicator_label", "unit",
    "period", "period_start", "period_end", "frequency", "duration", "value", "numerator", "denominator",
    "sample_size", "expected_value", "satisfied", "dissatisfied", "no_opinion",
)
STRUCTURE_ROLES = (
    "code", "name", "network", "typologie", "departement", "region", "parent_code", "label_level",
    "label_awarded_on",
)


@dataclass(frozen=True)
class LayoutSpec:
    name: str
    label: str
    kind: str  # "observations" or "structures"
    # role -> accepted normalised headers; a role listed in ``required`` must be found.
    columns: dict[str, tuple[str, ...]]
    required: tuple[tuple[str, ...], ...]  # each inner tuple: one of these roles must be present
    # Whether an indicator unknown to the référentiel is created (open data) or refused (the user's own files).
    creates_indicators: bool = False
    # The baromètre publishes one indicator under two labels with the same value: identical repeats are harmless there.
    tolerates_identical_repeats: bool = False
    # The baromètre describes territories (départements, régions, national), not labellable services.
    territorial: bool = False

    def expected_headers(self) -> str:
        names = [self.columns[group[0]][0] for group in self.required]
        return ", ".join(names)


CANONICAL_HEADERS = ("code_structure", "nom_structure", "reseau", "code_indicateur", "debut_periode",
                     "fin_periode", "valeur", "numerateur", "denominateur", "effectif")

LAYOUTS: tuple[LayoutSpec, ...] = (
    LayoutSpec(
        "canonique", "format long canonique", "observations",
        {
            "structure_code": ("code_structure",), "structure_name": ("nom_structure",),
            "network": ("reseau",), "indicator": ("code_indicateur",), "period_start": ("debut_periode",),
            "period_end": ("fin_periode",), "period": ("periode",), "value": ("valeur",),
            "numerator": ("numerateur",), "denominator": ("denominateur",), "sample_size": ("effectif",),
            # Written by our export only for indicators created from open data, so that they come back.
            "expected_value": ("valeur_attendue",), "indicator_label": ("libelle_indicateur",),
            "unit": ("unite",),
        },
        (("structure_code",), ("indicator",), ("period_start", "period"), ("value",)),
    ),
    LayoutSpec(
        "export_resultats", "export open data Services Publics+ « export-resultats »", "observations",
        {
            "structure_code": ("code_sp_structure", "code_sp_de_la_structure"),
            "structure_name": ("intitule_de_la_structure",), "network": ("intitule_du_reseau", "reseau"),
            "typologie": ("typologie", "intitule_de_la_typologie"),
            "indicator": ("code_sp_de_l_indicateur", "code_sp_indicateur"),
            "indicator_label": ("titre_original_de_l_indicateur", "titre_de_l_indicateur"),
            "period_start": ("date_de_debut_de_l_evaluation",), "duration": ("duree_de_l_evaluation",),
            "frequency": ("frequence",), "value": ("valeur",), "expected_value": ("valeur_attendue",),
            "satisfied": ("satisfait",), "dissatisfied": ("insatisfait",),
            "no_opinion": ("ne_se_prononce_pas",),
        },
        (("structure_code",), ("indicator",), ("period_start",), ("value",)),
        creates_indicators=True,
    ),
    LayoutSpec(
        "barometre_departemental", "Baromètre des résultats, détail départemental", "observations",
        {
            "indicator": ("id_indicateur",), "indicator_label": ("indicateur",),
            "structure_code": ("code_departement",), "structure_name": ("libelle_departement",),
            "period": ("date",), "value": ("valeur",), "unit": ("unite",),
        },
        (("indicator",), ("structure_code",), ("period",), ("value",)),
        creates_indicators=True, tolerates_identical_repeats=True, territorial=True,
    ),
    LayoutSpec(
        "barometre_zone", "Baromètre des résultats, fichier par indicateur", "observations",
        {
            "indicator": ("indic_id",), "structure_code": ("enforce_zone_id",),
            "period": ("metric_enforce_date",), "value": ("indic_va",), "expected_value": ("indic_vc",),
        },
        (("indicator",), ("structure_code",), ("period",), ("value",)),
        creates_indicators=True, tolerates_identical_repeats=True, territorial=True,
    ),
    LayoutSpec(
        "barometre_synthese", "Baromètre des résultats, synthèse nationale", "observations",
        {
            "indicator": ("id_indicateur",), "indicator_label": ("indicateur",),
            "structure_code": ("maille_geographique",), "period": ("date_valeur_actuelle",),
            "value": ("valeur_actuelle",), "expected_value": ("cible",), "unit": ("unite",),
        },
        (("indicator",), ("structure_code",), ("period",), ("value",)),
        creates_indicators=True, tolerates_identical_repeats=True, territorial=True,
    ),
)
STRUCTURES = LayoutSpec(
    "structures", "registre des structures", "structures",
    {
        "code": ("code_structure", "code_sp_de_la_structure", "code_sp_structure", "code"),
        "name": ("nom_structure", "intitule_de_la_structure", "nom", "intitule"),
        "network": ("reseau", "intitule_du_reseau"),
        "typologie": ("typologie", "intitule_de_la_typologie"),
        "departement": ("departement", "code_departement"),
        "region": ("region", "intitule_de_la_region"),
        "parent_code": ("code_structure_parent", "code_sp_structure_parent", "code_sp_de_la_structure_parent",
                        "parent"),
        "label_level": ("niveau_label", "niveau_de_label", "label", "label_niveau", "niveau_du_label"),
        "label_awarded_on": ("date_label", "date_attribution_label", "date_d_attribution_du_label",
                             "label_date", "date_du_label", "label_attribue_le"),
    },
    (("code",), ("name",)),
)
WIDE = LayoutSpec(
    "large", "format large (une colonne par indicateur)", "observations",
    {
        "structure_code": ("code_structure", "code_sp_structure", "code_sp_de_la_structure", "code_sp",
                           "code_du_service", "code_service", "code"),
        "structure_name": ("nom_structure", "structure", "nom_du_service", "service", "intitule_de_la_structure"),
        "network": ("reseau", "intitule_du_reseau"),
        "period": ("periode", "mois", "trimestre", "annee", "date"),
        "period_start": ("debut_periode", "date_de_debut", "debut"),
        "period_end": ("fin_periode", "date_de_fin", "fin"),
    },
    # The structure column may be missing: a file about one structure, named by the person (--structure).
    (("period", "period_start"),),
)
BY_NAME = {spec.name: spec for spec in (*LAYOUTS, WIDE, STRUCTURES)}
# Headers that only an observation file has: a file carrying them is not a register of structures.
_OBSERVATION_MARKERS = {"valeur", "code_indicateur", "id_indicateur", "indic_va", "code_sp_de_l_indicateur"}


@dataclass(frozen=True)
class WideIndicator:
    """The columns of one indicator in a wide file: its value and, when present, its counts."""

    code: str
    value: int | None
    numerator: int | None = None
    denominator: int | None = None
    sample_size: int | None = None


@dataclass(frozen=True)
class LayoutMatch:
    spec: LayoutSpec
    columns: dict[str, int]  # role -> column index
    headers: tuple[str, ...]  # the header texts as the user wrote them
    wide_indicators: tuple[WideIndicator, ...] = ()
    # A wide file's columns that match nothing: staging asks for a choice when they hold numbers.
    unknown_columns: tuple[int, ...] = ()
    # A wide file's columns the person chose to ignore, and whether the choices were remembered ones.
    ignored_columns: tuple[int, ...] = ()
    remembered: bool = False
    # Choices that do not fit the file (a header it does not have, a target the référentiel lacks), in French.
    choice_problems: tuple[str, ...] = field(default=())


def _find_roles(spec: LayoutSpec, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for role, names in spec.columns.items():
        for name in names:
            if name in keys:
                found[role] = keys.index(name)
                break
    return found


def _has_required(spec: LayoutSpec, found: dict[str, int]) -> bool:
    return all(any(role in found for role in group) for group in spec.required)


# A count's role in a wide file, by the name a mapping gives it.
_COUNT_FIELDS = {"numerateur": "numerator", "denominateur": "denominator", "effectif": "sample_size"}


def _wide_indicators(headers: list[str], referentiel: Referentiel, taken: set[int],
                     mapped: dict[int, Target]) -> list[WideIndicator]:
    """Each indicator's columns: those the person mapped first, then those whose header means one of its names
    (columns.meaning_key: units, « moyen », « nombre de », accents and plurals aside)."""
    meanings = [meaning_key(h) for h in headers]
    taken = taken | set(mapped)
    result = []
    for ind in referentiel.indicators:
        fields = {("value" if t.role is None else _COUNT_FIELDS[t.role]): i
                  for i, t in mapped.items() if t.code == ind.code}

        def column(names) -> int | None:
            wanted = {meaning_key(n) for n in names} - {""}
            return next((i for i, k in enumerate(meanings) if k in wanted and i not in taken), None)

        for name, aliases in (("value", (ind.code, ind.label, *ind.aliases)),
                              ("numerator", ind.numerator_aliases), ("denominator", ind.denominator_aliases),
                              ("sample_size", ind.sample_aliases)):
            if name not in fields and (found := column(aliases)) is not None:
                fields[name] = found
                taken.add(found)
        # Counts alone are enough for a rate: the value is then computed from them.
        if "value" in fields or (ind.kind == "ratio" and "numerator" in fields and "denominator" in fields) \
                or any(t.code == ind.code for t in mapped.values()):
            result.append(WideIndicator(ind.code, fields.get("value"), fields.get("numerator"),
                                        fields.get("denominator"), fields.get("sample_size")))
    return result


def _mapped_columns(headers: list[str], keys: list[str], referentiel: Referentiel, chosen: dict,
                    ignored: dict) -> tuple[dict[int, Target], list[str]]:
    """The person's column choices, by column index, and what in them does not fit this file."""
    mapped, problems = {}, []
    for key, (header, text) in chosen.items():
        if key not in keys:
            problems.append(f"aucune colonne « {header} » dans le fichier")
            continue
        target = parse_target(text, referentiel)
        if target is None:
            problems.append(f"« {text} » (pour la colonne « {header} ») n'est ni un indicateur du référentiel ni "
                            "un de ses comptages (code, ou code:numerateur, code:denominateur, code:effectif)")
            continue
        mapped[keys.index(key)] = target
    problems += [f"aucune colonne « {header} » à ignorer dans le fichier" for key, header in ignored.items()
                 if key not in keys]
    return mapped, problems


def _recognise_wide(headers: list[str], keys: list[str], referentiel: Referentiel,
                    choices: Choices | None) -> LayoutMatch | None:
    """A wide file: a period column and indicator columns, with or without a structure column (a file about one
    structure has none: the person names it). Columns that match nothing are kept for staging to judge."""
    found = _find_roles(WIDE, keys)
    if not _has_required(WIDE, found):
        return None
    chosen, ignored_keys, remembered = (choices or Choices()).for_headers(headers)
    mapped, problems = _mapped_columns(headers, keys, referentiel, chosen, ignored_keys)
    taken = set(found.values())
    indicators = _wide_indicators(headers, referentiel, taken, mapped)
    if not indicators and "structure_code" not in found:
        return None
    used = taken | set(mapped) | {c for w in indicators for c in (w.value, w.numerator, w.denominator,
                                                                  w.sample_size) if c is not None}
    ignored = tuple(i for i, k in enumerate(keys) if i not in used and k and k in ignored_keys)
    unknown = tuple(i for i, k in enumerate(keys) if i not in used and k and k not in ignored_keys)
    return LayoutMatch(WIDE, found, tuple(headers), tuple(indicators), unknown, ignored, remembered,
                       tuple(problems))


def recognise(headers: list[str], referentiel: Referentiel, choices: Choices | None = None) -> LayoutMatch | None:
    """The layout whose headers these are, or None. Headers are compared once normalised; a wide file's
    indicator columns by their meaning, and by the person's ``choices``."""
    keys = [normalize_header(h) for h in headers]
    if sum(1 for k in keys if k) < 2:
        return None
    for spec in LAYOUTS:
        found = _find_roles(spec, keys)
        if not _has_required(spec, found):
            continue
        return LayoutMatch(spec, found, tuple(headers))
    wide = _recognise_wide(headers, keys, referentiel, choices)
    if wide is not None:
        return wide
    found = _find_roles(STRUCTURES, keys)
    if _has_required(STRUCTURES, found) and not _OBSERVATION_MARKERS & set(keys):
        return LayoutMatch(STRUCTURES, found, tuple(headers))
    return None


def expected_layouts_text() -> str:
    """The French list of accepted layouts and their required headers, for a refused file."""
    lines = [f"- {spec.label} : {spec.expected_headers()}" for spec in LAYOUTS]
    lines.append(f"- {STRUCTURES.label} : {STRUCTURES.expected_headers()}")
    lines.append(f"- {WIDE.label} : {WIDE.expected_headers()}, code_structure (ou la structure précisée à "
                 "l'import) et une colonne par indicateur (code ou libellé du référentiel, par ex. « Taux de "
                 "décroché (%) »)")
    return "\n".join(lines)
