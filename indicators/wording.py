"""The French words for a gap to the next level and for lists of indicators (their labels, never their codes),
shared by the command line, the exports and the pages."""

from __future__ import annotations

import pandas as pd

from indicators.text import format_number_fr, plural


def gap_amount(row: dict) -> str:
    """« 412 appels décrochés », « 1 appel décroché », « 0,4 minute », « 2,4 points » (no direction)."""
    gap = row["gap_to_next"]
    if row["gap_unit"] == "numerateur":
        return f"{format_number_fr(gap, 0)} {plural(round(gap), row.get('numerator_label') or 'unités au numérateur')}"
    unit = "points" if str(row["unit"]).startswith("%") else row["unit"]
    return f"{format_number_fr(gap, 1)} {plural(round(gap, 1), unit)}"


def indicator_names(rules: pd.DataFrame) -> dict[str, str]:
    """Code → the référentiel's label (« decroche » → « Taux de décroché »), from a rules frame (code, label)."""
    return dict(zip(rules["code"].astype(str), rules["label"].fillna(rules["code"]).astype(str)))


def in_sentence(label: str) -> str:
    """A label inside a sentence: « Délai de réponse aux courriels » → « délai de réponse aux courriels »; an
    acronym (« SVI … ») keeps its capitals."""
    label = label.strip()
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def indicator_list(codes, names: dict[str, str]) -> str:
    """Indicator codes as a person reads them: « Taux de décroché, Délai de réponse aux courriels »; a code
    outside the référentiel as it is."""
    return ", ".join(names.get(code, code) for code in codes)


def indicator_lists(codes: pd.Series, rules: pd.DataFrame) -> pd.Series:
    """:func:`indicator_list` of each list of codes (a structure's blocking or late indicators), lists alike
    sharing one join: at 15 000 structures there are a few dozen distinct lists."""
    names = indicator_names(rules)
    joined: dict[tuple, str] = {}

    def words(row) -> str:
        key = tuple(row)
        if key not in joined:
            joined[key] = indicator_list(key, names)
        return joined[key]

    return codes.map(words).astype(object)


def gap_words(row: dict) -> str:
    """« 412 appels décrochés de plus » / « 1,6 minute de moins » / « une réponse « oui » »."""
    if row["unit"] == "oui/non":
        return "une réponse « oui »"
    lower_is_better = row["direction"] == "baisse" and row["gap_unit"] != "numerateur"
    return f"{gap_amount(row)} de {'moins' if lower_is_better else 'plus'}"


def need_words(row: dict) -> str:
    """« Il manque 412 appels décrochés » / « Il faut 2,5 minutes de moins »."""
    if row["unit"] == "oui/non":
        return "Il faut publier les résultats (réponse « oui » attendue)"
    if row["direction"] == "baisse" and row["gap_unit"] != "numerateur":
        return f"Il faut {gap_amount(row)} de moins"
    return f"Il manque {gap_amount(row)}"


def gap_sentence(row: dict) -> str:
    """« 412 appels décrochés de plus pour argent », or why there is no gap to give."""
    if row.get("gap_to_next") is None or pd.isna(row.get("gap_to_next")):
        if row.get("status") == "manquant":
            return "aucune donnée sur la période"
        if row.get("status") == "echantillon_insuffisant":
            return (f"échantillon insuffisant ({format_number_fr(row.get('n'), 0)} sur "
                    f"{format_number_fr(row.get('min_n'), 0)})")
        return ""
    if row["unit"] == "oui/non":
        return f"« oui » attendu pour {row['next_level']}"
    return f"{gap_words(row)} pour {row['next_level']}"
