"""Every setting of the product, declared once with its default, its environment variable and its help."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from indicators.periods import ROLLING, WINDOW_CHOICES, check_window

PROJECT_DIR = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_DIR / "sql"


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: object
    help: str
    minimum: float | None = None  # numbers only: the smallest value that makes sense
    # Texts only: returns the value to use, or raises ValueError with a French reason.
    check: Callable[[str], str] | None = None


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take; the message is French."""


SETTINGS = (
    Setting("db_path", "INDICATEURS_DB", str(PROJECT_DIR / "data" / "indicateurs.duckdb"),
            "Fichier DuckDB de la base embarquée."),
    Setting("max_file_bytes", "INDICATEURS_MAX_FILE_MB", 200,
            "Taille maximale d'un fichier importé, en Mo entiers (la même limite que l'envoi de fichiers dans "
            "Streamlit) ; 0 refuse tout fichier.", minimum=0),
    Setting("max_rows", "INDICATEURS_MAX_ROWS", 2_000_000, "Nombre maximal de lignes d'un fichier.", minimum=1),
    Setting("max_columns", "INDICATEURS_MAX_COLUMNS", 500, "Nombre maximal de colonnes d'un fichier.", minimum=1),
    Setting("max_cells", "INDICATEURS_MAX_CELLS", 30_000_000, "Nombre maximal de cellules (lignes × colonnes).",
            minimum=1),
    Setting("max_zip_ratio", "INDICATEURS_MAX_ZIP_RATIO", 100.0,
            "Rapport maximal entre taille décompressée et taille compressée d'un classeur (bombe zip).", minimum=1),
    Setting("max_unzipped_mb", "INDICATEURS_MAX_UNZIPPED_MB", 1024,
            "Taille décompressée maximale d'un classeur, en Mo entiers.", minimum=1),
    Setting("workbook_memory_mb", "INDICATEURS_WORKBOOK_MEMORY_MB", 4096,
            "Mémoire maximale, en Mo entiers, du processus qui lit un classeur Excel ou ODS (espace d'adressage) ; "
            "un classeur qui en demande plus est refusé, le tableau de bord continue.", minimum=64),
    Setting("workbook_timeout_s", "INDICATEURS_WORKBOOK_TIMEOUT", 300.0,
            "Secondes (décimales acceptées : 2.5 ou 2,5) accordées à la lecture d'un classeur Excel ou ODS ; "
            "au-delà, la lecture est arrêtée et le classeur refusé.", minimum=1),
    Setting("lock_timeout_s", "INDICATEURS_LOCK_TIMEOUT", 10.0,
            "Secondes d'attente (décimales acceptées : 2.5 ou 2,5) quand un autre programme tient la base "
            "avant d'abandonner.", minimum=0),
    Setting("default_window", "INDICATEURS_FENETRE_DEFAUT", ROLLING,
            f"Fenêtre affichée et calculée quand aucune n'est choisie : {WINDOW_CHOICES} "
            f"({ROLLING} : les 12 mois jusqu'aux dernières données).", check=check_window),
    Setting("admin_contact", "INDICATEURS_CONTACT_ADMIN", "l'équipe Services Publics+ de la DITP",
            "À qui une personne connectée sans droit demande un accès (une adresse électronique, un service) ; "
            "affiché sur la page « Pas encore d'accès »."),
)


def get(name: str):
    """The value of a setting: its environment variable when set, else its default (typed like it).
    A value the help does not allow raises SettingError, in French, naming the variable."""
    setting = next(s for s in SETTINGS if s.name == name)
    raw = os.environ.get(setting.env, "").strip()
    if raw == "":
        return setting.default
    if isinstance(setting.default, str):
        return _text(setting, raw)
    return _number(setting, raw)


def check_all() -> None:
    """Read every setting once, so that a wrong value is refused at start, not in the middle of an import."""
    for setting in SETTINGS:
        get(setting.name)


def _text(setting: Setting, raw: str) -> str:
    if setting.check is None:
        return raw
    try:
        return setting.check(raw)
    except ValueError as error:
        raise SettingError(f"Réglage {setting.env} invalide : {error} {setting.help}") from None


def _number(setting: Setting, raw: str) -> int | float:
    whole = isinstance(setting.default, int)
    try:
        value = int(raw) if whole else float(raw.replace(",", "."))
    except ValueError:
        value = None
    if value is None or value != value or value in (float("inf"), float("-inf")) or (
            setting.minimum is not None and value < setting.minimum):
        kind = "un nombre entier" if whole else "un nombre"
        floor = "" if setting.minimum is None else f" supérieur ou égal à {setting.minimum:g}"
        raise SettingError(f"Réglage {setting.env} invalide : « {raw} » (attendu : {kind}{floor}). "
                           f"{setting.help}")
    return value


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_columns: int
    max_cells: int
    max_zip_ratio: float
    max_unzipped_bytes: int

    @classmethod
    def current(cls) -> "Limits":
        return cls(
            max_bytes=int(get("max_file_bytes")) * 1024 * 1024,
            max_rows=int(get("max_rows")),
            max_columns=int(get("max_columns")),
            max_cells=int(get("max_cells")),
            max_zip_ratio=float(get("max_zip_ratio")),
            max_unzipped_bytes=int(get("max_unzipped_mb")) * 1024 * 1024,
        )


def db_path() -> Path:
    return Path(str(get("db_path")))


def default_window() -> str:
    """The window pages and commands use when none is chosen (``12m`` unless INDICATEURS_FENETRE_DEFAUT says)."""
    return str(get("default_window"))
