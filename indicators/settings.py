"""Every setting of the product, declared once with its default, its environment variable and its help."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_DIR / "sql"


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: object
    help: str


SETTINGS = (
    Setting("db_path", "INDICATEURS_DB", str(PROJECT_DIR / "data" / "indicateurs.duckdb"),
            "Fichier DuckDB de la base embarquée."),
    Setting("max_file_bytes", "INDICATEURS_MAX_FILE_MB", 200,
            "Taille maximale d'un fichier importé, en Mo (la même limite que l'envoi de fichiers dans Streamlit)."),
    Setting("max_rows", "INDICATEURS_MAX_ROWS", 2_000_000, "Nombre maximal de lignes d'un fichier."),
    Setting("max_columns", "INDICATEURS_MAX_COLUMNS", 500, "Nombre maximal de colonnes d'un fichier."),
    Setting("max_cells", "INDICATEURS_MAX_CELLS", 30_000_000, "Nombre maximal de cellules (lignes × colonnes)."),
    Setting("max_zip_ratio", "INDICATEURS_MAX_ZIP_RATIO", 100,
            "Rapport maximal entre taille décompressée et taille compressée d'un classeur (bombe zip)."),
    Setting("max_unzipped_mb", "INDICATEURS_MAX_UNZIPPED_MB", 1024,
            "Taille décompressée maximale d'un classeur, en Mo."),
    Setting("lock_timeout_s", "INDICATEURS_LOCK_TIMEOUT", 10,
            "Secondes d'attente quand un autre programme tient la base avant d'abandonner."),
)


def get(name: str):
    """The value of a setting: its environment variable when set, else its default (typed like it)."""
    setting = next(s for s in SETTINGS if s.name == name)
    raw = os.environ.get(setting.env)
    if raw is None or raw == "":
        return setting.default
    return type(setting.default)(raw)


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
