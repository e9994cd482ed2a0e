"""The validation rules as data, and the problems they produce: each names its place and says, in French,
what was found and what was expected."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# One entry per rule: the name a test or a script can rely on, and the French text users read.
RULES: dict[str, str] = {
    "fichier_non_vide": "Le fichier est vide.",
    "fichier_avec_donnees": "Le fichier ne contient qu'une ligne d'en-tête, aucune donnée.",
    "fichier_texte_ou_classeur": "Le fichier n'est ni un CSV lisible ni un classeur Excel/ODS (contenu binaire).",
    "encodage_reconnu": "L'encodage du fichier n'est pas reconnu (attendu : UTF-8, UTF-16 ou Windows-1252).",
    "taille_maximale": "Le fichier dépasse la taille maximale autorisée.",
    "lignes_maximales": "Le fichier dépasse le nombre maximal de lignes.",
    "colonnes_maximales": "Le fichier dépasse le nombre maximal de colonnes.",
    "cellules_maximales": "Le fichier dépasse le nombre maximal de cellules.",
    "decompression_bornee": "Le classeur se décompresse en un volume anormal (bombe zip) : refusé par sécurité.",
    "classeur_sans_mot_de_passe": "Le classeur est protégé par un mot de passe : enregistrez-le sans mot de passe.",
    "classeur_lisible": "Le classeur est endommagé ou illisible.",
    "mise_en_page_reconnue": "La mise en page du fichier n'est pas reconnue.",
    "nombre_de_colonnes_constant": "Le nombre de colonnes de la ligne diffère de celui de l'en-tête.",
    "guillemets_fermes": "Un guillemet ouvert n'est jamais fermé.",
    "texte_lisible": "La ligne contient des caractères illisibles.",
    "ligne_trop_longue": "Une ligne dépasse la longueur maximale (10 Mo).",
    "csv_lisible": "Le fichier CSV est mal formé : il ne peut pas être lu à cet endroit.",
    "valeur_presente": "La valeur est vide.",
    "nombre_lisible": "La valeur n'est pas un nombre.",
    "separateur_decimal_unique": "La colonne mélange virgule et point comme séparateur décimal.",
    "taux_entre_0_et_100": "Un taux doit être compris entre 0 et 100.",
    "delai_positif": "Un délai ou une durée ne peut pas être négatif.",
    "comptage_positif": "Un comptage ne peut pas être négatif.",
    "numerateur_inferieur_au_denominateur": "Le numérateur dépasse le dénominateur.",
    "oui_ou_non": "La valeur doit être oui ou non (ou 1 / 0).",
    "periode_reconnue": "Le format de la période n'est pas reconnu.",
    "date_possible": "Cette date n'existe pas.",
    "annee_plausible": "L'année sort des années possibles.",
    "fin_apres_debut": "La fin de la période précède son début.",
    "frequence_reconnue": "La fréquence n'est pas reconnue.",
    "code_structure_present": "Le code de la structure est vide.",
    "structure_precisee": "Aucune colonne de structure : précisez la structure avec --structure CODE (sur la page "
                          "Import : « Ce fichier concerne la structure : »).",
    "structure_en_double": "Le fichier a déjà une colonne de structure : --structure ne vaut que pour un fichier "
                           "sans colonne de structure.",
    "structure_pas_territoire": "Ce code désigne un territoire de l'open data (département, région, national), "
                                "pas une structure : ses valeurs ne viennent que des fichiers du Baromètre.",
    "colonne_reconnue": "Cette colonne contient des nombres mais ne correspond à aucun indicateur : associez-la à un "
                        "indicateur ou à un comptage, ou ignorez-la.",
    "choix_de_colonne": "Une correspondance de colonnes ne convient pas à ce fichier.",
    "indicateur_connu": "L'indicateur n'est pas dans le référentiel.",
    "observation_unique_dans_le_fichier":
        "La même structure, le même indicateur et la même période apparaissent plusieurs fois.",
    "valeur_deja_enregistree":
        "Une autre valeur est déjà enregistrée pour cette structure, cet indicateur et cette période.",
    "niveau_de_label_connu": "Le niveau de label doit être bronze, argent ou or.",
    "base_disponible": "La base de données est utilisée par un autre programme.",
    "classeur_ressources":
        "Le classeur n'a pas pu être lu : sa lecture dépasse les ressources autorisées (mémoire ou temps).",
}


@dataclass(frozen=True)
class Problem:
    rule: str
    file: str
    sheet: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None
    detail: str | None = None

    @property
    def message(self) -> str:
        return RULES[self.rule] + (f" {self.detail}" if self.detail else "")

    def describe(self) -> str:
        """One French line:
        « fichier.csv, ligne 12, colonne « valeur » : … (trouvé « 120 », attendu : …) »."""
        place = [self.file]
        if self.sheet:
            place.append(f"feuille « {self.sheet} »")
        if self.line is not None:
            place.append(f"ligne {self.line}")
        if self.column:
            place.append(f"colonne « {self.column} »")
        text = ", ".join(place) + " : " + self.message
        extras = []
        if self.value is not None:
            extras.append(f"trouvé « {self.value} »")
        if self.expected:
            extras.append(f"attendu : {self.expected}")
        return text + (f" ({' ; '.join(extras)})" if extras else "")

    def as_dict(self) -> dict:
        return {**asdict(self), "message": self.message}


class ImportRefused(Exception):
    """The input was refused; nothing was stored. Carries every problem found."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(p.describe() for p in problems))
        self.problems = problems


def refuse(rule: str, file: str, **where) -> ImportRefused:
    return ImportRefused([Problem(rule, file, **where)])
