"""Synthetic, realistic demonstration data (structures, labels, observations) to try the dashboard."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.referentiel import Indicator, load_default

__all__ = ["generate_demo", "DEPARTEMENTS", "REGION_OF_DEPARTEMENT"]

_ARA = "Auvergne-Rhône-Alpes"
_BFC = "Bourgogne-Franche-Comté"
_BRE = "Bretagne"
_CVL = "Centre-Val de Loire"
_COR = "Corse"
_GES = "Grand Est"
_HDF = "Hauts-de-France"
_IDF = "Île-de-France"
_NOR = "Normandie"
_NAQ = "Nouvelle-Aquitaine"
_OCC = "Occitanie"
_PDL = "Pays de la Loire"
_PAC = "Provence-Alpes-Côte d'Azur"

# (code, name, article, region, préfecture, second town). The article builds « de l'Ain », « du Nord »,
# « de Saône-et-Loire »: compound « X-et-Y » names and Vaucluse take none in official usage. The second
# town is a sous-préfecture except in Paris, the Territoire de Belfort and Mayotte, which have none.
DEPARTEMENTS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("01", "Ain", "l'", _ARA, "Bourg-en-Bresse", "Belley"),
    ("02", "Aisne", "l'", _HDF, "Laon", "Saint-Quentin"),
    ("03", "Allier", "l'", _ARA, "Moulins", "Montluçon"),
    ("04", "Alpes-de-Haute-Provence", "les", _PAC, "Digne-les-Bains", "Forcalquier"),
    ("05", "Hautes-Alpes", "les", _PAC, "Gap", "Briançon"),
    ("06", "Alpes-Maritimes", "les", _PAC, "Nice", "Grasse"),
    ("07", "Ardèche", "l'", _ARA, "Privas", "Tournon-sur-Rhône"),
    ("08", "Ardennes", "les", _GES, "Charleville-Mézières", "Sedan"),
    ("09", "Ariège", "l'", _OCC, "Foix", "Pamiers"),
    ("10", "Aube", "l'", _GES, "Troyes", "Nogent-sur-Seine"),
    ("11", "Aude", "l'", _OCC, "Carcassonne", "Narbonne"),
    ("12", "Aveyron", "l'", _OCC, "Rodez", "Millau"),
    ("13", "Bouches-du-Rhône", "les", _PAC, "Marseille", "Aix-en-Provence"),
    ("14", "Calvados", "le", _NOR, "Caen", "Lisieux"),
    ("15", "Cantal", "le", _ARA, "Aurillac", "Saint-Flour"),
    ("16", "Charente", "la", _NAQ, "Angoulême", "Cognac"),
    ("17", "Charente-Maritime", "la", _NAQ, "La Rochelle", "Saintes"),
    ("18", "Cher", "le", _CVL, "Bourges", "Vierzon"),
    ("19", "Corrèze", "la", _NAQ, "Tulle", "Brive-la-Gaillarde"),
    ("2A", "Corse-du-Sud", "la", _COR, "Ajaccio", "Sartène"),
    ("2B", "Haute-Corse", "la", _COR, "Bastia", "Corte"),
    ("21", "Côte-d'Or", "la", _BFC, "Dijon", "Beaune"),
    ("22", "Côtes-d'Armor", "les", _BRE, "Saint-Brieuc", "Lannion"),
    ("23", "Creuse", "la", _NAQ, "Guéret", "Aubusson"),
    ("24", "Dordogne", "la", _NAQ, "Périgueux", "Bergerac"),
    ("25", "Doubs", "le", _BFC, "Besançon", "Montbéliard"),
    ("26", "Drôme", "la", _ARA, "Valence", "Nyons"),
    ("27", "Eure", "l'", _NOR, "Évreux", "Bernay"),
    ("28", "Eure-et-Loir", "", _CVL, "Chartres", "Dreux"),
    ("29", "Finistère", "le", _BRE, "Quimper", "Brest"),
    ("30", "Gard", "le", _OCC, "Nîmes", "Alès"),
    ("31", "Haute-Garonne", "la", _OCC, "Toulouse", "Saint-Gaudens"),
    ("32", "Gers", "le", _OCC, "Auch", "Condom"),
    ("33", "Gironde", "la", _NAQ, "Bordeaux", "Libourne"),
    ("34", "Hérault", "l'", _OCC, "Montpellier", "Béziers"),
    ("35", "Ille-et-Vilaine", "", _BRE, "Rennes", "Saint-Malo"),
    ("36", "Indre", "l'", _CVL, "Châteauroux", "Issoudun"),
    ("37", "Indre-et-Loire", "", _CVL, "Tours", "Chinon"),
    ("38", "Isère", "l'", _ARA, "Grenoble", "Vienne"),
    ("39", "Jura", "le", _BFC, "Lons-le-Saunier", "Dole"),
    ("40", "Landes", "les", _NAQ, "Mont-de-Marsan", "Dax"),
    ("41", "Loir-et-Cher", "", _CVL, "Blois", "Vendôme"),
    ("42", "Loire", "la", _ARA, "Saint-Étienne", "Roanne"),
    ("43", "Haute-Loire", "la", _ARA, "Le Puy-en-Velay", "Yssingeaux"),
    ("44", "Loire-Atlantique", "la", _PDL, "Nantes", "Saint-Nazaire"),
    ("45", "Loiret", "le", _CVL, "Orléans", "Montargis"),
    ("46", "Lot", "le", _OCC, "Cahors", "Figeac"),
    ("47", "Lot-et-Garonne", "", _NAQ, "Agen", "Villeneuve-sur-Lot"),
    ("48", "Lozère", "la", _OCC, "Mende", "Florac"),
    ("49", "Maine-et-Loire", "", _PDL, "Angers", "Cholet"),
    ("50", "Manche", "la", _NOR, "Saint-Lô", "Cherbourg-en-Cotentin"),
    ("51", "Marne", "la", _GES, "Châlons-en-Champagne", "Reims"),
    ("52", "Haute-Marne", "la", _GES, "Chaumont", "Saint-Dizier"),
    ("53", "Mayenne", "la", _PDL, "Laval", "Mayenne"),
    ("54", "Meurthe-et-Moselle", "", _GES, "Nancy", "Lunéville"),
    ("55", "Meuse", "la", _GES, "Bar-le-Duc", "Verdun"),
    ("56", "Morbihan", "le", _BRE, "Vannes", "Lorient"),
    ("57", "Moselle", "la", _GES, "Metz", "Thionville"),
    ("58", "Nièvre", "la", _BFC, "Nevers", "Cosne-Cours-sur-Loire"),
    ("59", "Nord", "le", _HDF, "Lille", "Dunkerque"),
    ("60", "Oise", "l'", _HDF, "Beauvais", "Compiègne"),
    ("61", "Orne", "l'", _NOR, "Alençon", "Argentan"),
    ("62", "Pas-de-Calais", "le", _HDF, "Arras", "Calais"),
    ("63", "Puy-de-Dôme", "le", _ARA, "Clermont-Ferrand", "Thiers"),
    ("64", "Pyrénées-Atlantiques", "les", _NAQ, "Pau", "Bayonne"),
    ("65", "Hautes-Pyrénées", "les", _OCC, "Tarbes", "Bagnères-de-Bigorre"),
    ("66", "Pyrénées-Orientales", "les", _OCC, "Perpignan", "Céret"),
    ("67", "Bas-Rhin", "le", _GES, "Strasbourg", "Haguenau"),
    ("68", "Haut-Rhin", "le", _GES, "Colmar", "Mulhouse"),
    ("69", "Rhône", "le", _ARA, "Lyon", "Villefranche-sur-Saône"),
    ("70", "Haute-Saône", "la", _BFC, "Vesoul", "Lure"),
    ("71", "Saône-et-Loire", "", _BFC, "Mâcon", "Chalon-sur-Saône"),
    ("72", "Sarthe", "la", _PDL, "Le Mans", "La Flèche"),
    ("73", "Savoie", "la", _ARA, "Chambéry", "Albertville"),
    ("74", "Haute-Savoie", "la", _ARA, "Annecy", "Thonon-les-Bains"),
    ("75", "Paris", "", _IDF, "Paris", "Paris 13e"),
    ("76", "Seine-Maritime", "la", _NOR, "Rouen", "Le Havre"),
    ("77", "Seine-et-Marne", "", _IDF, "Melun", "Meaux"),
    ("78", "Yvelines", "les", _IDF, "Versailles", "Mantes-la-Jolie"),
    ("79", "Deux-Sèvres", "les", _NAQ, "Niort", "Bressuire"),
    ("80", "Somme", "la", _HDF, "Amiens", "Abbeville"),
    ("81", "Tarn", "le", _OCC, "Albi", "Castres"),
    ("82", "Tarn-et-Garonne", "", _OCC, "Montauban", "Castelsarrasin"),
    ("83", "Var", "le", _PAC, "Toulon", "Draguignan"),
    ("84", "Vaucluse", "", _PAC, "Avignon", "Carpentras"),
    ("85", "Vendée", "la", _PDL, "La Roche-sur-Yon", "Les Sables-d'Olonne"),
    ("86", "Vienne", "la", _NAQ, "Poitiers", "Châtellerault"),
    ("87", "Haute-Vienne", "la", _NAQ, "Limoges", "Bellac"),
    ("88", "Vosges", "les", _GES, "Épinal", "Saint-Dié-des-Vosges"),
    ("89", "Yonne", "l'", _BFC, "Auxerre", "Sens"),
    ("90", "Territoire de Belfort", "le", _BFC, "Belfort", "Delle"),
    ("91", "Essonne", "l'", _IDF, "Évry-Courcouronnes", "Palaiseau"),
    ("92", "Hauts-de-Seine", "les", _IDF, "Nanterre", "Boulogne-Billancourt"),
    ("93", "Seine-Saint-Denis", "la", _IDF, "Bobigny", "Saint-Denis"),
    ("94", "Val-de-Marne", "le", _IDF, "Créteil", "Nogent-sur-Marne"),
    ("95", "Val-d'Oise", "le", _IDF, "Cergy", "Argenteuil"),
    ("971", "Guadeloupe", "la", "Guadeloupe", "Basse-Terre", "Pointe-à-Pitre"),
    ("972", "Martinique", "la", "Martinique", "Fort-de-France", "La Trinité"),
    ("973", "Guyane", "la", "Guyane", "Cayenne", "Saint-Laurent-du-Maroni"),
    ("974", "La Réunion", "", "La Réunion", "Saint-Denis", "Saint-Pierre"),
    ("976", "Mayotte", "", "Mayotte", "Mamoudzou", "Dzaoudzi"),
)
REGION_OF_DEPARTEMENT: dict[str, str] = {d[0]: d[3] for d in DEPARTEMENTS}
_NO_SOUS_PREFECTURE = {"75", "90", "976"}
# Overseas, social security is run by CGSS (and by the CSSM in Mayotte), not by CPAM or Urssaf.
_CGSS = {"971", "972", "973", "974"}

_AP = "Accueil physique"
_PT = "Plateforme téléphonique"
_SL = "Service en ligne"
_CT = "Centre de traitement"
_HEAD = "Tête de réseau"


@dataclass(frozen=True)
class _Network:
    name: str
    prefix: str
    weight: float
    size: float  # relative activity of a typical structure, so France services stay small
    quality: float  # latent-quality offset, so networks differ on average
    typologies: dict[str, float]
    head_name: str
    head_departement: str


_NETWORKS: tuple[_Network, ...] = (
    _Network("CAF", "CAF", 0.14, 1.2, 0.0, {_AP: 0.6, _PT: 0.15, _SL: 0.1, _CT: 0.15},
             "Caisse nationale des allocations familiales (Cnaf)", "75"),
    _Network("CPAM", "CPAM", 0.14, 1.2, 0.05, {_AP: 0.6, _PT: 0.15, _SL: 0.1, _CT: 0.15},
             "Caisse nationale de l'Assurance Maladie (Cnam)", "75"),
    _Network("Urssaf", "URSSAF", 0.08, 1.0, 0.15, {_AP: 0.4, _PT: 0.25, _SL: 0.15, _CT: 0.2},
             "Urssaf Caisse nationale", "93"),
    _Network("Préfectures", "PREF", 0.12, 1.0, -0.25, {_AP: 0.7, _PT: 0.1, _SL: 0.05, _CT: 0.15},
             "Ministère de l'Intérieur – direction de la modernisation et de l'administration territoriale", "75"),
    _Network("France services", "FS", 0.30, 0.25, 0.3, {_AP: 1.0},
             "Agence nationale de la cohésion des territoires (ANCT) – programme France services", "75"),
    _Network("France Travail", "FT", 0.12, 0.8, -0.05, {_AP: 0.6, _PT: 0.2, _SL: 0.1, _CT: 0.1},
             "France Travail – direction générale", "75"),
    _Network("DGFiP", "DGFIP", 0.10, 0.9, 0.05, {_AP: 0.5, _PT: 0.25, _SL: 0.1, _CT: 0.15},
             "Direction générale des finances publiques (DGFiP)", "75"),
)

# Volume multipliers by typology: phone platforms take many calls, online services many reviews.
_TYPOLOGY_VOLUME: dict[str, dict[str, float]] = {
    _PT: {"decroche": 8.0, "delai_courriels": 3.0, "satisfaction_globale": 2.0},
    _SL: {"demarches_en_ligne_8": 10.0, "delai_courriels": 4.0, "delais_annonces": 3.0, "satisfaction_globale": 3.0},
    _CT: {"delai_courriers": 3.0, "delais_annonces": 3.0},
    _HEAD: {"*": 10.0},
}

# The anchors are the values at latent scores -3, -1, 0, 1, 3: bronze sits at -1, argent at 0 and or at
# +1, so a structure's latent quality decides its level; the outer anchors bound the extremes.
_ANCHOR_SCORES = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])


@dataclass(frozen=True)
class _Profile:
    anchors: tuple[float, float, float, float, float]
    volume: float  # median count per month for a structure of average size
    volume_sigma: float  # spread between structures beyond their shared size (log scale)
    offset: float = 0.0  # national gap to the argent threshold, in latent units
    load: float = 0.0  # how much a busier month hurts the result (queues, unanswered calls)
    size_exponent: float = 1.0  # surveys are sampled, so their size grows slower than activity
    decimals: int = 1


_PROFILES: dict[str, _Profile] = {
    # National answer rate is about 78–80 %: below the 85 % target, hence the negative offset.
    "decroche": _Profile((45, 80, 85, 90, 98), 1500, 0.55, offset=-0.3, load=1.2),
    "delais_annonces": _Profile((50, 80, 90, 95, 99.5), 600, 0.6, offset=0.1, load=0.5),
    # Reviews are few: small structures fall under the 100-review minimum.
    "demarches_en_ligne_8": _Profile((30, 60, 70, 80, 94), 130, 0.6),
    "satisfaction_globale": _Profile((45, 75, 85, 90, 97.5), 90, 0.35, offset=-0.1, size_exponent=0.4),
    "attente_guichet": _Profile((75, 30, 20, 10, 3), 1000, 0.5, load=0.8),
    "delai_courriels": _Profile((15, 5, 3, 2, 0.6), 500, 0.6, offset=0.1, load=0.5),
    "delai_courriers": _Profile((40, 15, 10, 7, 2.5), 150, 0.6, load=0.4),
}

# Monthly activity (January … December): the September back-to-school peak and the August trough
# give months of very different weights.
_SEASON = np.array([1.10, 1.00, 1.05, 0.95, 0.90, 0.95, 0.85, 0.65, 1.25, 1.10, 1.00, 0.80])
_MONTHS_PER_PERIOD = {"mensuelle": 1, "trimestrielle": 3, "semestrielle": 6, "annuelle": 12}
_HISTORY_MONTHS = 36
_LEVEL_NAMES = np.array([None, "bronze", "argent", "or"], dtype=object)

STRUCTURE_COLUMNS = ["code", "name", "network", "typologie", "departement", "region", "parent_code",
                     "label_level", "label_awarded_on"]
OBSERVATION_COLUMNS = ["structure_code", "indicator_code", "period_start", "period_end", "value",
                       "numerator", "denominator", "sample_size"]


def generate_demo(
    n_structures: int = 300, seed: int = 42, today: datetime.date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(structures, observations)`` for ``n_structures`` structures over the 3 years before ``today``.

    The same seed and day always give the same frames. Every structure has a latent quality that sets
    its level against the référentiel thresholds; volumes, seasons, late senders, missing indicators
    and labels (some about to expire, some no longer supported by the results) make it look real."""
    today = today or datetime.date.today()
    rng = np.random.default_rng(seed)
    indicators = load_default().indicators
    structures, latent = _structures(max(int(n_structures), 0), indicators, rng, today)
    observations = _observations(structures["code"].to_numpy(dtype=object), latent, indicators, rng, today)
    return structures, observations


@dataclass
class _Latent:
    """What the generator knows about each structure and the reader of the frames must infer."""

    score: np.ndarray  # (structures, indicators) latent level: -1 bronze, 0 argent, 1 or
    applicable: np.ndarray  # (structures, indicators) bool
    volume: np.ndarray  # (structures, indicators) median count per month
    late_months: np.ndarray  # months without data before today (0 when up to date)
    declining: np.ndarray  # bool: labelled « or » but results fell over the last year


def _structures(
    n: int, indicators: tuple[Indicator, ...], rng: np.random.Generator, today: datetime.date
) -> tuple[pd.DataFrame, _Latent]:
    codes_ind = [ind.code for ind in indicators]
    n_heads = len(_NETWORKS) if n >= 10 * len(_NETWORKS) else 0
    m = n - n_heads

    weights = np.array([net.weight for net in _NETWORKS])
    net_idx = np.concatenate([np.arange(n_heads), rng.choice(len(_NETWORKS), size=m, p=weights / weights.sum())])
    # Every département appears once before any repeats, so small demos still cover Corsica and overseas.
    n_dep = len(DEPARTEMENTS)
    first = rng.permutation(n_dep)[: min(m, n_dep)]
    dep_idx = np.concatenate([
        [next(i for i, d in enumerate(DEPARTEMENTS) if d[0] == net.head_departement) for net in _NETWORKS[:n_heads]],
        first, rng.integers(0, n_dep, size=max(m - n_dep, 0)),
    ]).astype(int)

    typologie = np.empty(n, dtype=object)
    typologie[:n_heads] = _HEAD
    for k, net in enumerate(_NETWORKS):
        rows = np.flatnonzero(net_idx[n_heads:] == k) + n_heads
        names, probs = list(net.typologies), np.array(list(net.typologies.values()))
        typologie[rows] = np.array(names, dtype=object)[rng.choice(len(names), size=len(rows), p=probs / probs.sum())]
    in_second_town = rng.random(n) < 0.4
    variant = rng.integers(0, 1000, size=n)

    is_head = np.arange(n) < n_heads
    network = np.array([_NETWORKS[k].name for k in net_idx], dtype=object)
    prefix = np.array([_NETWORKS[k].prefix for k in net_idx], dtype=object)
    # Heads take number 0, so the first ordinary structure of a network is always -0001.
    number = pd.Series(net_idx).groupby(net_idx).cumcount().to_numpy() + (0 if n_heads else 1)
    code = np.array([f"{p}-{num:04d}" for p, num in zip(prefix, number)], dtype=object)
    name = [
        _NETWORKS[k].head_name if h else _structure_name(_NETWORKS[k].name, t, DEPARTEMENTS[d], s, v)
        for k, t, d, s, v, h in zip(net_idx, typologie, dep_idx, in_second_town, variant, is_head)
    ]
    # Several sites of one network in one town get a site number, so every name tells them apart.
    repeat = pd.Series(name).groupby(name).cumcount().to_numpy()
    name = np.array([nm if r == 0 else f"{nm} (site {r + 1})" for nm, r in zip(name, repeat)], dtype=object)

    head_of = {k: code[k] for k in range(n_heads)}
    # National platforms and online services report to their network head; local sites do not.
    hangs_off = ~is_head & np.isin(typologie, [_PT, _SL]) & (rng.random(n) < 0.8)
    parent = np.array([head_of.get(k) if h else None for k, h in zip(net_idx, hangs_off)], dtype=object)

    quality = rng.normal(0.7, 0.7, n) + np.array([_NETWORKS[k].quality for k in net_idx])
    quality[is_head] = rng.normal(0.8, 0.4, n_heads)
    n_ind = len(indicators)
    offset = np.array([_PROFILES.get(c, _generic_profile(i)).offset for c, i in zip(codes_ind, indicators)])
    score = quality[:, None] + offset[None, :] + rng.normal(0.0, 0.35, (n, n_ind))

    # The référentiel requires every indicator of every structure: all publish them, but for the few
    # gaps drawn below, which the dashboard must show as missing.
    applicable = np.ones((n, n_ind), dtype=bool)

    # Activity size is shared by a structure's indicators: a big CAF has many calls and many mails.
    size = np.exp(rng.normal(0.0, 0.8, n)) * np.array([_NETWORKS[k].size for k in net_idx])
    volume = np.empty((n, n_ind))
    for j, (c, ind) in enumerate(zip(codes_ind, indicators)):
        prof = _PROFILES.get(c, _generic_profile(ind))
        typ_mult = np.array([_TYPOLOGY_VOLUME.get(t, {}).get(c, _TYPOLOGY_VOLUME.get(t, {}).get("*", 1.0))
                             for t in typologie])
        volume[:, j] = (prof.volume * typ_mult * size ** prof.size_exponent
                        * np.exp(rng.normal(0.0, prof.volume_sigma, n)))
        # Busy structures answer the phone and the counter less well: weighted and plain means differ.
        if prof.load:
            score[:, j] -= 0.25 * prof.load * np.log(size)

    # Weak spots: one or two indicators clearly below bronze in an otherwise decent structure.
    weak = np.flatnonzero(~is_head & (rng.random(n) < 0.15))
    for s in weak:
        candidates = np.flatnonzero(applicable[s])
        hit = rng.choice(candidates, size=min(len(candidates), 1 + int(rng.random() < 0.3)), replace=False)
        score[s, hit] = np.minimum(score[s, hit], -1.4) - rng.random(len(hit))

    # Late senders and indicators missing altogether (a broken export, a tool not yet plugged in).
    late_months = np.where(~is_head & (rng.random(n) < 0.03), rng.integers(4, 9, n), 0)
    for s in np.flatnonzero(~is_head & (rng.random(n) < 0.03)):
        candidates = np.flatnonzero(applicable[s])
        if len(candidates) > 1:
            applicable[s, rng.choice(candidates)] = False

    # The audit saw the structure as it is now, weak spots included, unless it declined afterwards.
    level_at_award = _expected_level(score, applicable)
    label_level, label_on, declining = _labels(quality, level_at_award, is_head, rng, today)
    # A structure labelled « or » that has since declined must have deserved it when audited.
    score[declining] = np.maximum(score[declining], 1.3 + 0.3 * rng.random((declining.sum(), n_ind)))

    dep = [DEPARTEMENTS[d] for d in dep_idx]
    structures = pd.DataFrame({
        "code": code,
        "name": name,
        "network": network,
        "typologie": typologie,
        "departement": np.array([d[0] for d in dep], dtype=object),
        "region": np.array([d[3] for d in dep], dtype=object),
        "parent_code": pd.Series(parent, dtype=object),
        "label_level": pd.Series(label_level, dtype=object),
        "label_awarded_on": pd.Series(label_on, dtype=object),
    }, columns=STRUCTURE_COLUMNS)
    for col in ("code", "name", "network", "typologie", "departement", "region"):
        structures[col] = structures[col].astype(str)
    return structures, _Latent(score, applicable, volume, late_months, declining)


def _de(article: str, name: str) -> str:
    """French « de » + name with its article: de l'Ain, du Nord, des Landes, de la Manche, d'Indre-et-Loire."""
    if article == "le":
        return f"du {name}"
    if article == "les":
        return f"des {name}"
    if article == "la":
        return f"de la {name}"
    if article == "l'":
        return f"de l'{name}"
    return f"d'{name}" if name[0].lower() in "aeiouyéèêîôâ" else f"de {name}"


def _de_town(town: str) -> str:
    """« de » before a town: du Mans, du Havre, des Sables-d'Olonne, de La Rochelle, d'Angers."""
    if town.startswith("Le "):
        return "du " + town[3:]
    if town.startswith("Les "):
        return "des " + town[4:]
    return _de("", town)


def _structure_name(network: str, typologie: str, dep: tuple, second_town: bool, variant: int) -> str:
    code, dep_name, article, region, prefecture, other = dep
    town = other if second_town and typologie in (_AP, _CT) else prefecture
    of_dep = _de(article, dep_name)
    of_town = _de_town(town)
    if network in ("CAF", "CPAM", "Urssaf") and code == "976":
        org = "CSSM de Mayotte"
    elif network in ("CPAM", "Urssaf") and code in _CGSS:
        org = f"CGSS {of_dep}"
    elif network == "Urssaf":
        org = f"Urssaf {region}"
    else:
        org = f"{network} {of_dep}"

    if network == "France services":
        return f"France services {of_town}"
    if network == "Préfectures":
        if typologie == _AP and town != prefecture and code not in _NO_SOUS_PREFECTURE:
            return f"Sous-préfecture {of_town}"
        if typologie == _AP:
            desk = ("accueil général", "accueil des étrangers", "guichet des titres", "accueil des associations")
            return f"Préfecture {of_dep} – {desk[variant % len(desk)]}"
        return f"Préfecture {of_dep} – " + {
            _PT: "standard téléphonique", _SL: "démarches en ligne", _CT: "plateforme de traitement des titres"
        }[typologie]
    if network == "France Travail":
        return {
            _AP: f"France Travail – agence {of_town}",
            _PT: f"France Travail {region} – plateforme téléphonique 3949",
            _SL: f"France Travail {region} – services en ligne",
            _CT: f"France Travail {region} – plateforme de traitement {of_town}",
        }[typologie]
    if network == "DGFiP":
        return {
            _AP: f"Service des impôts des particuliers {of_town}",
            _PT: f"Centre de contact des finances publiques {of_town}",
            _SL: f"Direction départementale des finances publiques {of_dep} – messagerie sécurisée",
            _CT: f"Service de gestion comptable {of_town}",
        }[typologie]
    online = {"CAF": "caf.fr", "CPAM": "compte ameli", "Urssaf": "urssaf.fr"}.get(network, "espace en ligne")
    return {
        _AP: f"{org} – accueil {of_town}",
        _PT: f"{org} – plateforme téléphonique",
        _SL: f"{org} – services en ligne ({online})",
        _CT: f"{org} – centre de traitement {of_town}",
    }[typologie]


def _generic_profile(ind: Indicator) -> _Profile:
    """A profile for an indicator this module does not know, derived from its thresholds."""
    t = ind.thresholds
    if all(k in t for k in ("bronze", "argent", "or")) and len({t["bronze"], t["argent"], t["or"]}) == 3:
        b, a, o = t["bronze"], t["argent"], t["or"]
        low, high = b - 3 * (a - b), o + 1.5 * (o - a)
        if ind.is_rate:
            low, high = min(max(low, 0.0), 100.0), min(max(high, 0.0), 100.0)
        elif ind.direction == "baisse":
            high = max(high, 0.1 * o)
        return _Profile((low, b, a, o, high), 300, 0.5)
    top = 100.0 if ind.is_rate else 10.0
    anchors = np.interp(_ANCHOR_SCORES, [-3.0, 3.0], [0.0, top])
    return _Profile(tuple(anchors[::-1] if ind.direction == "baisse" else anchors), 300, 0.5)


def _expected_level(score: np.ndarray, applicable: np.ndarray) -> np.ndarray:
    """0 below bronze … 3 or: the lowest level among the indicators a structure publishes."""
    level = (score >= -1).astype(int) + (score >= 0) + (score >= 1)
    return np.where(applicable, level, 3).min(axis=1)


def _labels(
    quality: np.ndarray, level_at_award: np.ndarray, is_head: np.ndarray, rng: np.random.Generator,
    today: datetime.date,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label level, award date and « declining » flag: about one structure in five is labelled."""
    n = len(quality)
    label_level = np.full(n, None, dtype=object)
    label_on = np.full(n, None, dtype=object)
    declining = np.zeros(n, dtype=bool)
    # Only structures whose results reached bronze when audited could be labelled.
    eligible = np.flatnonzero(~is_head & (level_at_award >= 1))
    n_lab = min(int(round(0.2 * (~is_head).sum())), len(eligible))
    if n_lab == 0:
        return label_level, label_on, declining
    # Good structures apply for the label more often, but an audit is not only the indicators.
    p = np.exp(1.2 * quality[eligible])
    labelled = rng.choice(eligible, size=n_lab, replace=False, p=p / p.sum())
    label_level[labelled] = _LEVEL_NAMES[level_at_award[labelled]]

    order = rng.permutation(labelled)
    n_dec = max(1, round(0.12 * n_lab)) if n_lab >= 5 else 0
    n_exp = max(1, round(0.15 * n_lab)) if n_lab >= 3 else 0
    dec, exp, rest = order[:n_dec], order[n_dec:n_dec + n_exp], order[n_dec + n_exp:]

    start = datetime.date(2023, 1, 1)
    recent = today - datetime.timedelta(days=90)
    # Declining structures were audited well before their results fell, 15 months ago.
    old = today - datetime.timedelta(days=460)
    for rows, end in ((rest, recent), (dec, old)):
        # Labels start in 2023; for an earlier « today » keep a year-long range rather than none.
        first = min(start, end - datetime.timedelta(days=365))
        days = rng.integers(0, (end - first).days + 1, size=len(rows))
        label_on[rows] = [first + datetime.timedelta(days=int(d)) for d in days]
    # 2 years 7 to 11 months ago: the 3-year label expires within six months.
    days = rng.integers(945, 1076, size=len(exp))
    label_on[exp] = [today - datetime.timedelta(days=int(d)) for d in days]
    label_level[dec] = "or"
    declining[dec] = True
    return label_level, label_on, declining


def _month_start(index: int) -> datetime.date:
    return datetime.date(index // 12, index % 12 + 1, 1)


def _observations(
    codes: np.ndarray, latent: _Latent, indicators: tuple[Indicator, ...], rng: np.random.Generator,
    today: datetime.date,
) -> pd.DataFrame:
    current = today.year * 12 + today.month - 1  # month index of today, incomplete by definition
    parts = []
    for j, ind in enumerate(indicators):
        k = _MONTHS_PER_PERIOD[ind.periodicity]
        last = ((current - k) // k) * k  # latest calendar-aligned period whose last month is over
        starts = last - k * np.arange(_HISTORY_MONTHS // k - 1, -1, -1)
        rows = np.flatnonzero(latent.applicable[:, j])
        if len(rows) == 0:
            continue
        parts.append(_indicator_block(ind, j, rows, starts, k, latent, rng, current))
    if not parts:
        return _empty_observations()

    st = np.concatenate([p[0] for p in parts])
    ij = np.concatenate([p[1] for p in parts])
    pm = np.concatenate([p[2] for p in parts])
    k_arr = np.concatenate([p[3] for p in parts])
    value, num, den, n = (np.concatenate([p[i] for p in parts]) for i in range(4, 8))
    order = np.lexsort((pm, ij, st))
    st, ij, pm, k_arr = st[order], ij[order], pm[order], k_arr[order]

    # Few distinct periods: build each date once and share the objects instead of millions of them.
    lo, hi = int(pm.min()), int((pm + k_arr).max())
    starts = np.array([_month_start(i) for i in range(lo, hi + 1)], dtype=object)
    ends = np.array([d - datetime.timedelta(days=1) for d in starts], dtype=object)
    codes_ind = np.array([ind.code for ind in indicators], dtype=object)
    return pd.DataFrame({
        "structure_code": pd.array(codes[st], dtype="str"),
        "indicator_code": pd.array(codes_ind[ij], dtype="str"),
        "period_start": starts[pm - lo],
        "period_end": ends[pm + k_arr - lo],
        "value": value[order],
        "numerator": num[order],
        "denominator": den[order],
        "sample_size": n[order],
    }, columns=OBSERVATION_COLUMNS)


def _empty_observations() -> pd.DataFrame:
    return pd.DataFrame({
        "structure_code": pd.array([], dtype="str"),
        "indicator_code": pd.array([], dtype="str"),
        "period_start": np.array([], dtype=object),
        "period_end": np.array([], dtype=object),
        **{c: np.array([], dtype=float) for c in ("value", "numerator", "denominator", "sample_size")},
    }, columns=OBSERVATION_COLUMNS)


def _indicator_block(
    ind: Indicator, j: int, rows: np.ndarray, starts: np.ndarray, k: int, latent: _Latent,
    rng: np.random.Generator, current: int,
) -> tuple[np.ndarray, ...]:
    """Flat arrays (structure, indicator, period month, months, value, numerator, denominator, n)."""
    prof = _PROFILES.get(ind.code, _generic_profile(ind))
    S, P = len(rows), len(starts)
    mid = starts + (k - 1) / 2
    years_back = (starts[-1] - starts) / 12  # the latest period shows the structure's current level
    month_of_year = (starts[:, None] + np.arange(k)[None, :]) % 12
    season = _SEASON[month_of_year].mean(axis=1)

    # Services improve slowly under the programme: older periods are a little worse.
    score = latent.score[rows, j][:, None] - 0.15 * years_back[None, :]
    score = score + rng.normal(0.0, 0.25 / np.sqrt(k), (S, P))
    decline = np.clip((mid - (current - 15)) / 3, 0, 1)
    score -= 2.3 * latent.declining[rows][:, None] * decline[None, :]

    volume = latent.volume[rows, j][:, None] * k * season[None, :] * np.exp(rng.normal(0.0, 0.25, (S, P)))
    if prof.load:
        score -= prof.load * np.log(volume / (latent.volume[rows, j][:, None] * k))

    # A late sender's data stops before its cut-off month, whatever the periodicity.
    cutoff = current - latent.late_months[rows]
    keep = (starts + k - 1)[None, :] < cutoff[:, None]

    nan = np.full((S, P), np.nan)
    if ind.is_yes_no:
        p_yes = 1 / (1 + np.exp(-(2.6 + 1.5 * score - 0.8 * years_back[None, :])))
        value, num, den, n = (rng.random((S, P)) < p_yes).astype(float), nan, nan, nan
    else:
        true = np.interp(score, _ANCHOR_SCORES, prof.anchors)
        count = np.maximum(1.0, np.rint(volume))
        if ind.kind == "ratio":
            den = count
            num = rng.binomial(den.astype(np.int64), np.clip(true / 100, 0, 1)).astype(float)
            value = np.round(100 * num / den, prof.decimals)
            # Where the référentiel names a sample-size column (survey respondents), exports fill it
            # with the denominator too.
            n = count if ind.sample_aliases else nan
        else:
            # The mean of n skewed durations: a Gamma draw, tighter the larger the sample.
            shape = 2.0 * count
            value = rng.gamma(shape, np.maximum(true, 1e-3) / shape)
            value = np.maximum(np.round(value, prof.decimals), 10.0 ** -prof.decimals)
            if ind.is_rate:
                value = np.minimum(value, 100.0)
            elif ind.unit == "note /10":
                value = np.minimum(value, 10.0)
            num, den, n = nan, nan, count

    flat = keep.ravel()
    st = np.repeat(rows, P)[flat].astype(np.int64)
    pm = np.tile(starts, S)[flat].astype(np.int64)
    return (st, np.full(len(st), j, dtype=np.int64), pm, np.full(len(st), k, dtype=np.int64),
            value.ravel()[flat], num.ravel()[flat], den.ravel()[flat], n.ravel()[flat])


def load_demo(con, access, n_structures: int = 300, seed: int = 42, today: datetime.date | None = None) -> list:
    """Store the demo data through the importer's public prepare_table and commit: two imports in the
    history, undoable, stored together or not at all."""
    import pyarrow as pa

    from indicators import importer

    today = today or datetime.date.today()
    structures, observations = generate_demo(n_structures, seed, today)
    tag = f"demo:{n_structures}:{seed}:{today.isoformat()}"
    register = structures.assign(source_line=range(2, len(structures) + 2))
    values = observations.assign(expected_value=float("nan"), source_line=range(2, len(observations) + 2))[
        list(importer.TYPED_COLUMNS["observations"])]
    named = pa.Table.from_pandas(structures[["code", "name", "network", "typologie"]], preserve_index=False)
    files = [importer.prepare_table(name, kind, pa.Table.from_pandas(frame, preserve_index=False), f"{tag}:{kind}",
                                    "demonstration", "données de démonstration", structures=named)
             for kind, frame, name in (("structures", register, "démonstration – structures"),
                                       ("observations", values, "démonstration – valeurs"))]
    refused = [f.report for f in files if not f.ready]
    return refused or importer.commit(con, importer.Batch(files), access)
