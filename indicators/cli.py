"""Command line: ``python -m indicators import|status|export|fiche|demo|history|undo|acces|sauvegarde|restauration|
actions|trajectoire``;
parses arguments and calls the library.

Exit status: 0 done, 1 input refused (French messages on stderr, nothing stored), 2 usage error."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import date, datetime
from pathlib import Path


from indicators import backup, compliance, db, grants, importer, periods, reports, rights, settings, text, wording
from indicators.columns import Choices
from indicators.export import canonical_table, write_canonical_csv
from indicators.text import IMPORT_STATUS_WORDS, format_number_fr

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
# Whoever runs the command line on the server already holds the database file: it acts as administrator.
ACCESS = rights.COMMAND_LINE


# argparse writes its own words in English; they are said in French here, on what it formats (its public output),
# rather than by replacing its translation hook.
_HELP_WORDS = (("usage: ", "utilisation : "), ("positional arguments:", "arguments :"), ("options:", "options :"),
               ("show this help message and exit", "afficher cette aide et quitter"))
_ERROR_WORDS = (
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"argument (\S+): invalid choice: '?([^']*)'? \(choose from (.*)\)", r"argument \1 : « \2 » n'est pas un choix "
     r"possible (choix : \3)"),
    (r"argument (\S+): expected one argument", r"argument \1 : une valeur est attendue"),
    (r"argument (\S+): invalid (\S+) value: '?([^']*)'?", r"argument \1 : « \3 » n'est pas une valeur possible"),
    (r"unrecognized arguments: (.*)", r"arguments non reconnus : \1"),
    (r"argument (\S+): not allowed with argument (\S+)", r"argument \1 : incompatible avec \2"),
    (r"one of the arguments (.*) is required", r"un de ces arguments est obligatoire : \1"),
)


def _french(text: str, words) -> str:
    for english, french in words:
        text = text.replace(english, french)
    return text


class FrenchParser(argparse.ArgumentParser):
    """argparse, speaking French: help, usage and errors."""

    def format_usage(self) -> str:
        return _french(super().format_usage(), _HELP_WORDS)

    def format_help(self) -> str:
        return _french(super().format_help(), _HELP_WORDS)

    def error(self, message: str):
        for english, french in _ERROR_WORDS:
            message = re.sub(english, french, message)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"Erreur d'utilisation : {message}\n")


def build_parser() -> FrenchParser:
    parser = FrenchParser(prog="python -m indicators",
                          description="Indicateurs de qualité de service Services Publics+.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=FrenchParser, metavar="COMMANDE")

    def with_db(sub):
        sub.add_argument("--db", type=Path, help="fichier DuckDB (défaut : INDICATEURS_DB ou data/indicateurs.duckdb)")
        return sub

    imp = with_db(commands.add_parser("import", help="importer des fichiers CSV ou Excel"))
    imp.add_argument("files", nargs="+", type=Path, metavar="FICHIER")
    imp.add_argument("--replace", action="store_true",
                     help="remplacer les valeurs déjà enregistrées (gardées en historique)")
    imp.add_argument("--dry-run", action="store_true", help="tout vérifier sans rien enregistrer")
    imp.add_argument("--echelle-taux", choices=("auto", "0-1", "0-100"), default="auto",
                     help="échelle des taux du fichier "
                          "(auto : 0–1 détecté quand tous les taux d'un indicateur sont ≤ 1)")
    imp.add_argument("--structure", metavar="CODE",
                     help="la structure dont parle un fichier sans colonne de structure (un tableau de bord de service)")
    imp.add_argument("--colonne", action="append", default=[], metavar="EN-TÊTE=CODE",
                     help="associer une colonne à un indicateur (CODE) ou à un de ses comptages (CODE:numerateur, "
                          "CODE:denominateur, CODE:effectif) ; répétable ; retenu pour les fichiers aux mêmes en-têtes")
    imp.add_argument("--ignorer-colonne", action="append", default=[], metavar="EN-TÊTE",
                     help="laisser de côté une colonne de nombres qui n'est pas un indicateur ; répétable")
    imp.add_argument("--nom", help="nom de la structure que le fichier crée (sinon son code)")
    imp.add_argument("--reseau", help="réseau de la structure que le fichier crée")

    status = with_db(commands.add_parser("status", help="niveau de chaque structure sur une fenêtre"))
    status.add_argument("--period", help=f"fenêtre : {periods.WINDOW_CHOICES} (par défaut "
                                         f"INDICATEURS_FENETRE_DEFAUT, sinon {periods.ROLLING} : "
                                         "les 12 mois jusqu'aux dernières données)")
    status.add_argument("--structure", metavar="CODE")
    status.add_argument("--format", choices=("json", "table"), default="table")

    exp = with_db(commands.add_parser("export", help="exporter les données ou l'évaluation"))
    exp.add_argument("--format", choices=("xlsx", "csv", "opendata"), required=True)
    exp.add_argument("--output", type=Path, required=True, metavar="FICHIER")
    exp.add_argument("--period", help=f"fenêtre : {periods.WINDOW_CHOICES}")
    exp.add_argument("--structure", metavar="CODE")
    exp.add_argument("--what", choices=("valeurs", "status"), default="valeurs",
                     help="pour --format csv : les valeurs des structures (mise en page canonique, sans les "
                          "territoires de l'open data) ou le tableau des niveaux")

    sheet = with_db(commands.add_parser("fiche", help="la fiche de résultats (PDF, une page A4) d'une structure, "
                                                      "ou de chaque structure d'un réseau ; --affiche : l'affiche"))
    whose = sheet.add_mutually_exclusive_group()  # one of them is required: said in French by _usage_problem
    whose.add_argument("--structure", metavar="CODE", help="la structure ; --output nomme le fichier PDF")
    whose.add_argument("--reseau", metavar="RESEAU", help="chaque structure du réseau ; --output nomme le dossier, "
                                                         "un fichier par structure (CODE.pdf)")
    sheet.add_argument("--output", type=Path, required=True, metavar="FICHIER|DOSSIER")
    sheet.add_argument("--period", help=f"fenêtre : {periods.WINDOW_CHOICES} (par défaut les 12 mois jusqu'aux "
                                        "dernières données de chaque structure)")
    sheet.add_argument("--affiche", action="store_true",
                       help="l'affiche des résultats pour l'accueil du public (engagement 6) plutôt que la fiche")

    demo = with_db(commands.add_parser("demo", help="charger des données de démonstration"))
    demo.add_argument("--structures", type=int, default=300)
    demo.add_argument("--seed", type=int, default=42)

    hist = with_db(commands.add_parser("history", help="lister les imports, du plus récent au plus ancien"))
    hist.add_argument("--format", choices=("json", "table"), default="table")

    undo = with_db(commands.add_parser("undo", help="annuler un import"))
    undo.add_argument("import_id", type=int, metavar="IMPORT_ID")
    _access_commands(commands.add_parser("acces", help="gérer les droits d'accès (en administrateur)"), with_db)

    _action_commands(commands.add_parser("actions", help="les actions d'amélioration d'une structure et leur "
                                                         "avant/après"), with_db)
    path = with_db(commands.add_parser("trajectoire", help="le niveau mois par mois d'une structure, ses "
                                                           "changements, la tendance de ses indicateurs bloquants"))
    path.add_argument("--structure", metavar="CODE", required=True)
    path.add_argument("--format", choices=("json", "table"), default="table")

    save = with_db(commands.add_parser(
        "sauvegarde", help="sauvegarder la base dans un dossier (un fichier Parquet par table), même pendant que le "
                           "tableau de bord tourne"))
    save.add_argument("--output", type=Path, required=True, metavar="DOSSIER",
                      help="dossier nouveau ou vide où écrire la sauvegarde (créé s'il manque)")
    restore = commands.add_parser("restauration", help="reconstruire une base à partir d'une sauvegarde")
    restore.add_argument("folder", type=Path, metavar="DOSSIER", help="le dossier écrit par « sauvegarde »")
    restore.add_argument("--db", type=Path, required=True, metavar="FICHIER",
                         help="la base à créer (fichier DuckDB) ; refusé s'il existe, sauf avec --force")
    restore.add_argument("--force", action="store_true",
                         help="remplacer la base existante, une fois la nouvelle complète (arrêtez d'abord le "
                              "tableau de bord qui l'utilise)")
    return parser


def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre entier positif")
    return number


def _action_commands(parser: FrenchParser, with_db) -> None:
    """``actions liste|ajouter|retirer``: improvement actions, acting as the command line (an administrator)."""
    verbs = parser.add_subparsers(dest="action", required=True, parser_class=FrenchParser, metavar="ACTION")
    listing = with_db(verbs.add_parser("liste", help="les actions en cours ou passées, avec leur avant/après"))
    listing.add_argument("--structure", metavar="CODE", help="celles d'une structure (défaut : toutes)")
    listing.add_argument("--format", choices=("json", "table"), default="table")
    add = with_db(verbs.add_parser("ajouter", help="enregistrer une action"))
    add.add_argument("--structure", metavar="CODE", required=True)
    add.add_argument("--titre", required=True)
    add.add_argument("--indicateurs", required=True, metavar="CODE,CODE",
                     help="les codes des indicateurs visés, séparés par des virgules")
    add.add_argument("--debut", required=True, metavar="DATE", help="date de début (31/03/2025 ou 2025-03-31)")
    add.add_argument("--fin", metavar="DATE", help="date de fin, facultative")
    add.add_argument("--responsable")
    add.add_argument("--commentaire")
    remove = with_db(verbs.add_parser("retirer", help="retirer une action (elle reste au journal)"))
    remove.add_argument("action_id", type=_positive_int, metavar="NUMERO", help="le n° de l'action (voir « liste »)")


def _access_commands(parser: FrenchParser, with_db) -> None:
    """``acces liste|ajouter|retirer|importer|journal``: the grants, acting as an administrator."""
    actions = parser.add_subparsers(dest="action", required=True, parser_class=FrenchParser, metavar="ACTION")
    listing = with_db(actions.add_parser("liste", help="les droits en vigueur, du plus récent au plus ancien"))
    listing.add_argument("--tous", action="store_true", help="avec les droits retirés")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    add = with_db(actions.add_parser("ajouter", help="accorder un droit à une personne (par son adresse e-mail "
                                                     "ou son identifiant chez le fournisseur d'identité)"))
    add.add_argument("--email", help="adresse e-mail de la personne, celle de son compte d'agent")
    add.add_argument("--sujet", help="son identifiant chez le fournisseur d'identité (« sub »), quand le fournisseur "
                                     "ne transmet pas l'adresse : la page « Pas encore d'accès » le lui affiche")
    add.add_argument("--role", required=True, help=grants.ROLE_CHOICES)
    add.add_argument("--reseau", action="append", default=[], metavar="RESEAU",
                     help="réseau du périmètre (tête de réseau, lecteur) ; à répéter pour plusieurs")
    add.add_argument("--structure", action="append", default=[], metavar="CODE",
                     help="code d'une structure du périmètre (directeur, lecteur) ; à répéter pour plusieurs")
    remove = with_db(actions.add_parser("retirer", help="retirer un droit (il reste dans l'historique)"))
    remove.add_argument("grant_id", type=_positive_int, metavar="NUMERO", help="le n° du droit (voir « liste »)")
    imp = with_db(actions.add_parser("importer", help="accorder les droits d'un fichier CSV "
                                                      "(colonnes email, role, reseaux, structures)"))
    imp.add_argument("file", type=Path, metavar="FICHIER")
    log = with_db(actions.add_parser("journal", help="le journal : connexions, droits, refus, imports, "
                                                     "annulations, référentiel ; le plus récent d'abord"))
    log.add_argument("--limite", type=_positive_int, default=grants.JOURNAL_LINES, metavar="N",
                     help=f"nombre de lignes (défaut : {grants.JOURNAL_LINES})")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The dashboard or a test may already hold the connection in this process: only close our own.
    opened_here = False
    try:
        settings.check_all()
        usage = _usage_problem(args)
        if usage:
            print(usage, file=sys.stderr)
            return EXIT_USAGE
        if args.command == "restauration":  # builds its own file: the base is neither opened nor created here
            return _restore(args)
        opened_here = not db.is_open(args.db)
        if args.command == "fiche" and args.reseau:
            return _network_fiches(args)  # holds the base while it reads, not while it draws the PDFs
        # The base held for the whole command, then given back: a running dashboard waits for it meanwhile.
        with db.lease(args.db) as con:
            return COMMANDS[args.command](con, args)
    except (db.DatabaseBusy, rights.AccessRefused) as refused:
        print(str(refused), file=sys.stderr)
        return EXIT_REFUSED
    except db.DatabaseUnusable as unusable:
        print(str(unusable), file=sys.stderr)
        return EXIT_USAGE if unusable.wrong_path else EXIT_REFUSED
    except settings.SettingError as wrong:
        print(str(wrong), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # « status | head »: the reader left, nothing to say
        sys.stderr.close()
        return EXIT_OK
    except OSError as error:  # a path the system refuses: say which and why, in French
        where = f" « {error.filename} »" if error.filename else ""
        print(f"Impossible d'accéder au fichier{where} : {db.os_error_fr(error)}. Rien n'a été enregistré.",
              file=sys.stderr)
        return EXIT_REFUSED
    except MemoryError:
        print("Mémoire insuffisante pour traiter cette demande. Rien n'a été enregistré ; essayez avec un fichier "
              "plus petit.", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as error:  # a user never sees a traceback; INDICATEURS_DEBUG=1 shows it
        if os.environ.get("INDICATEURS_DEBUG"):
            raise
        print(f"Erreur inattendue ({type(error).__name__}) : {error}. Rien n'a été enregistré ; "
              "signalez-la avec le fichier en cause.", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        if opened_here:
            db.close(args.db)


def _usage_problem(args) -> str | None:
    """What is wrong with the paths given, before anything is opened or written (exit 2)."""
    target = args.db or settings.db_path()
    if args.command == "acces" and args.action == "importer":
        return _file_problem([args.file])
    if args.command == "import":
        return _file_problem(args.files) or _mapping_problem(args.colonne)
    if args.command == "fiche" and not (args.structure or args.reseau):
        return "Indiquez la structure (--structure CODE) ou le réseau (--reseau RESEAU) dont faire la fiche."
    if args.command == "fiche" and args.reseau:
        return _folder_problem(args.output)
    if args.command == "sauvegarde":
        return _backup_problem(args.output, Path(target))
    if args.command == "restauration":
        return _restore_problem(args.folder, args.db)
    if args.command not in ("export", "fiche"):
        return None
    output = args.output
    database = Path(target).resolve()
    if output.resolve() in (database, Path(f"{database}.wal"), Path(f"{database}.tmp")):
        return f"Le fichier de sortie « {output} » est la base de données elle-même : choisissez un autre nom."
    if output.is_dir():
        return f"Le fichier de sortie « {output} » est un dossier : ajoutez un nom de fichier."
    folder = output.parent
    if not folder.is_dir():
        return f"Le dossier de sortie « {folder} » n'existe pas : créez-le ou choisissez-en un autre."
    if not os.access(folder, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        return f"Impossible d'écrire « {output} » : permission refusée."
    return None


def _folder_problem(folder: Path) -> str | None:
    """An output folder that exists and may be written, or that can be made in one that does."""
    if folder.exists() and not folder.is_dir():
        return f"Le dossier de sortie « {folder} » est un fichier : indiquez un dossier."
    parent = folder if folder.exists() else folder.parent
    if not parent.is_dir():
        return f"Le dossier « {parent} » n'existe pas : créez-le ou choisissez-en un autre."
    if not os.access(parent, os.W_OK):
        return f"Impossible d'écrire dans « {parent} » : permission refusée."
    return None


def _backup_problem(output: Path, database: Path) -> str | None:
    if not database.is_file():  # a mistyped --db would otherwise be created empty, and that backed up
        return f"La base « {database} » n'existe pas : indiquez la base à sauvegarder (--db ou INDICATEURS_DB)."
    return backup.path_problem(output) or _folder_problem(output)


def _restore_problem(folder: Path, database: Path) -> str | None:
    if not folder.is_dir():
        return f"Le dossier de sauvegarde « {folder} » n'existe pas ou n'est pas un dossier."
    if database.is_dir():
        return f"« {database} » est un dossier : indiquez le fichier de la base à créer (restauree.duckdb)."
    if not database.parent.is_dir():
        return f"Le dossier « {database.parent} » n'existe pas : créez-le ou choisissez-en un autre."
    if not os.access(database.parent, os.W_OK):
        return f"Impossible d'écrire dans « {database.parent} » : permission refusée."
    return backup.path_problem(folder)


def _file_problem(files: list[Path]) -> str | None:
    missing = [f for f in files if not f.is_file()]
    if missing:
        return "\n".join(f"Fichier introuvable : {f}" if not f.exists() else
                         f"« {f} » n'est pas un fichier ordinaire (dossier ou périphérique) : "
                         "indiquez un fichier."
                         for f in missing)
    return None


def _mapping_problem(mappings: list[str]) -> str | None:
    wrong = [m for m in mappings if "=" not in m or not m.partition("=")[0].strip()]
    if wrong:
        return (f"--colonne « {wrong[0]} » : écrivez l'en-tête, un signe =, puis le code de l'indicateur, par exemple "
                "--colonne \"Appels reçus=decroche:denominateur\".")
    return None


def _choices(args, new_code: str | None = None) -> Choices:
    """What the command line says of the files: their structure, their columns, the new structure's name."""
    named = args.structure or new_code
    return Choices(
        structure=args.structure,
        columns=tuple((h.strip(), t.strip()) for h, _, t in (m.partition("=") for m in args.colonne)),
        ignored=tuple(h.strip() for h in args.ignorer_colonne),
        names=((named, args.nom),) if named and args.nom else (),
        networks=((named, args.reseau),) if named and args.reseau else ())


def _prepare(con, args) -> importer.Batch | str:
    """The checked batch; --nom and --reseau go to the one structure the files create (a French usage message
    when they create several)."""
    def checked(choices):
        return importer.prepare(con, [importer.Source(Path(path).name, path=Path(path), choices=choices)
                                      for path in args.files], args.echelle_taux)

    batch = checked(_choices(args))
    if args.structure or not (args.nom or args.reseau):
        return batch
    created = sorted({s[0] for f in batch.ready for s in f.report.new_structures})
    if len(created) > 1:
        return (f"--nom et --reseau nomment la structure que le fichier crée, mais il en crée "
                f"{len(created)} ({rights.names_list(created)}) : nommez-les dans un registre des structures.")
    return checked(_choices(args, created[0])) if created else batch


def _import(con, args) -> int:
    # Every file is checked before any is written, and all are written in one transaction:
    # one refused file means nothing is stored.
    batch = _prepare(con, args)
    if isinstance(batch, str):
        print(batch, file=sys.stderr)
        return EXIT_USAGE
    if (args.nom or args.reseau) and batch.ready and not any(f.report.new_structures for f in batch.ready):
        print("Attention : --nom et --reseau sont sans effet, la structure existe déjà (un registre des structures "
              "la renomme).")
    prepared = []
    for item in batch.files:
        if item.error is not None:
            raise item.error
        if item.report.outcome == "deja_importe":
            print(item.report.summary())
        elif item.duplicate_of is not None:
            print(f"{item.report.filename} : même contenu que « {item.duplicate_of} » : "
                  "il ne sera importé qu'une fois.")
        else:
            prepared.append(item)
    refused = [p.report for p in prepared if not p.ready]
    if refused:
        for report in refused:
            _print_problems(report)
        print("Aucun fichier n'a été importé.", file=sys.stderr)
        return EXIT_REFUSED
    # One transaction for the whole batch: two files that contradict each other store nothing.
    reports = importer.commit(con, batch, ACCESS, args.replace, args.dry_run)
    for report in reports:
        for warning in report.warnings:
            print(f"Attention : {warning}")
        if report.scope_note:
            print(report.scope_note)
    if any(r.outcome == "refuse" for r in reports):
        for report in reports:
            _print_problems(report) if report.outcome == "refuse" else print(report.summary(), file=sys.stderr)
        print("Aucun fichier n'a été importé.", file=sys.stderr)
        return EXIT_REFUSED
    for report in reports:
        print(report.summary())
    return EXIT_OK


def _print_problems(report: importer.ImportReport) -> None:
    print(report.summary(), file=sys.stderr)
    for problem in report.problems:
        print("  - " + problem.describe(), file=sys.stderr)


def _assessment(con, args):
    """The assessment the arguments ask for, or a French usage message (exit 2)."""
    try:
        window = compliance.resolve_window(con, args.period)
    except periods.WindowError as error:
        return None, str(error)
    unknown = _unknown_structure(con, args)
    if unknown:
        return None, unknown
    if args.structure:  # as Mon service: the rolling window is the 12 months up to the structure's own data
        window = compliance.structure_window(con, ACCESS, args.period, args.structure)
    return compliance.assess(con, window, ACCESS, args.structure), None


def _unknown_structure(con, args) -> str | None:
    """An unknown --structure is a usage error (exit 2), worded as the rights word it (rights.check_structure)."""
    if not args.structure:
        return None
    try:
        rights.check_structure(con, ACCESS, args.structure)
    except rights.AccessRefused as unknown:
        return str(unknown)
    return None


def _status(con, args) -> int:
    assessment, error = _assessment(con, args)
    if error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    note = reports.no_data_sentence(con, assessment, args.structure)
    if args.format == "json":
        if note:  # the JSON stays the only thing on the standard output
            print(note, file=sys.stderr)
        for chunk in reports.status_json_chunks(assessment):
            sys.stdout.write(chunk)
        sys.stdout.write("\n")
        return EXIT_OK
    print(f"Fenêtre : {text.window_label(assessment.window)} — référentiel {assessment.version}")
    if note:
        print(note)
    if args.structure:
        _print_structure(assessment)
        return EXIT_OK
    table = reports.status_table(assessment)
    if len(table):
        # Whole columns at once: 15 000 lines without a Python format per line.
        blocking = table["ecarts"].astype(str)
        lines = (table["code_structure"].astype(str).str.ljust(12) + " " + table["niveau"].astype(str).str.ljust(7)
                 + " " + table["nom_structure"].fillna("").astype(str)
                 + blocking.where(blocking == "", "  bloquants : " + blocking))
        sys.stdout.write("\n".join(lines.tolist()) + "\n")
    counts = assessment.structures["level"].value_counts()
    print("Structures par niveau : " + ", ".join(f"{level} {format_number_fr(counts.get(level, 0), 0)}"
                                                 for level in reversed(compliance.LEVELS)))
    return EXIT_OK


def _fiche(con, args) -> int:
    """One structure's fiche (or affiche) into a file; a network's: _network_fiches."""
    from indicators import fiche  # reportlab and the charts' plotly: only for this command

    today = date.today()
    try:  # document_pdf checks the structure (an unknown one: AccessRefused, below)
        args.output.write_bytes(fiche.document_pdf(con, ACCESS, args.structure, args.period, today, args.affiche))
    except (periods.WindowError, rights.AccessRefused) as unknown:  # a typo, not a refusal: usage (exit 2)
        print(str(unknown), file=sys.stderr)
        return EXIT_USAGE
    print(f"{'Affiche' if args.affiche else 'Fiche de résultats'} de {args.structure} écrite dans {args.output}.")
    return EXIT_OK


def _network_fiches(args) -> int:
    """Every structure of a network, one file each, with progress. The base is held while the assessments and
    actions are read (seconds), then given back: drawing hundreds of PDFs must not keep a running dashboard
    waiting."""
    from indicators import actions, fiche

    today = date.today()
    one, many = ("affiche", "affiches") if args.affiche else ("fiche de résultats", "fiches de résultats")
    with db.lease(args.db) as con:
        try:
            common = compliance.assess(con, compliance.resolve_window(con, args.period, today), ACCESS, today=today)
            codes = fiche.network_codes(common, args.reseau)
        except (periods.WindowError, rights.AccessRefused) as unknown:  # a typo, not a refusal: usage (exit 2)
            print(str(unknown), file=sys.stderr)
            return EXIT_USAGE
        read = [(code, fiche.structure_assessment(con, ACCESS, code, args.period, today, common),
                 None if args.affiche else actions.listing(con, ACCESS, structure=code)) for code in codes]
    args.output.mkdir(exist_ok=True)
    for number, (code, assessment, improvements) in enumerate(read, start=1):
        print(f"{number}/{len(codes)} {code}", file=sys.stderr)
        pdf = (fiche.affiche_pdf(assessment, code, today) if args.affiche else
               fiche.fiche_pdf(assessment, code, today, improvements))
        (args.output / fiche.file_name(code, args.affiche)).write_bytes(pdf)
    written = "écrites" if len(codes) > 1 else "écrite"
    print(f"{text.format_count(len(codes), one, many)} {written} dans {args.output} (réseau {args.reseau}).")
    return EXIT_OK


def _print_structure(assessment) -> None:
    structure = assessment.structures.iloc[0]
    name = f" – {structure['name']}" if isinstance(structure["name"], str) else ""
    print(f"{structure['code']}{name} : niveau atteignable {structure['level']}")
    if isinstance(structure["label_level"], str):
        expires = f"{structure['label_expires_on']:%d/%m/%Y}"
        state = "soutenu" if structure["label_supported"] else "non soutenu par les indicateurs actuels"
        # An expired label is no label: its support does not matter any more.
        until = f"expiré le {expires}" if structure["label_expired"] else f"expire le {expires} ({state})"
        print(f"Label {structure['label_level']} attribué le {structure['label_awarded_on']:%d/%m/%Y}, {until}")
    for r in assessment.indicators.to_dict("records"):
        # Numbers without their unit (the column lines up); a yes/no indicator says oui or non.
        value = text.format_value(r["value"], r["unit"] if r["unit"] == "oui/non" else None)
        print(f"  {r['label']:<44} {value:>9} {r['level']:<7} {text.status_word(r['status']):<24} "
              f"{wording.gap_sentence(r)}")


def _export(con, args) -> int:
    from indicators.text import format_count

    if args.format == "csv" and args.what == "valeurs":
        window = None
        if args.period:
            try:
                resolved = compliance.resolve_window(con, args.period)
            except periods.WindowError as error:
                print(str(error), file=sys.stderr)
                return EXIT_USAGE
            window = (resolved.start, resolved.end)
        table = canonical_table(con, window)
        write_canonical_csv(table, args.output)
        if not table.num_rows:
            print(reports.no_data_sentence(con, reports.scope(con, resolved if args.period else
                                                               compliance.resolve_window(con, None), ACCESS)))
        print(f"{format_count(table.num_rows, 'valeur')} {'exportées' if table.num_rows >= 2 else 'exportée'} "
              f"dans {args.output}.")
        return EXIT_OK
    if args.format == "opendata":
        # The window's values only: no assessment to compute (a third of the time at 15 000 structures).
        try:
            window = compliance.resolve_window(con, args.period)
        except periods.WindowError as error:
            print(str(error), file=sys.stderr)
            return EXIT_USAGE
        unknown = _unknown_structure(con, args)
        if unknown:
            print(unknown, file=sys.stderr)
            return EXIT_USAGE
        selection = reports.scope(con, window, ACCESS, args.structure)
    else:
        selection, error = _assessment(con, args)
        if error:
            print(error, file=sys.stderr)
            return EXIT_USAGE
    note = reports.no_data_sentence(con, selection, args.structure)
    if note:
        print(note)
    if args.format == "xlsx":
        from indicators import actions  # the before/after runs the engine: only for this export

        reports.write_workbook(selection, args.output,
                               actions=actions.comparison_table(con, ACCESS, selection.structures["code"].tolist()))
    elif args.format == "opendata":
        reports.write_opendata_csv(con, selection, args.output)
    else:
        reports.write_csv(reports.status_table(selection), args.output)
    print(f"Évaluation de {format_count(len(selection.structures), 'structure')} "
          f"({text.window_label(selection.window)}) exportée dans {args.output}.")
    return EXIT_OK


def _demo(con, args) -> int:
    from indicators.demo import load_demo

    if args.structures < 1:
        print("Le nombre de structures doit être positif.", file=sys.stderr)
        return EXIT_USAGE
    for report in load_demo(con, ACCESS, args.structures, args.seed):
        print(report.summary())
    return EXIT_OK


def _history(con, args) -> int:
    rows = importer.history(con, ACCESS)
    if args.format == "json":
        print(json.dumps(rows, default=_json_default, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("Aucun import.")
    for r in rows:
        print(f"n°{r['id']:<4} {r['created_at']:%d/%m/%Y %H:%M}  {IMPORT_STATUS_WORDS[r['status']]:<8} "
              f"{r['filename']}  +{r['rows_added']} ~{r['rows_replaced']} ={r['rows_unchanged']}")
    return EXIT_OK


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value))


def _undo(con, args) -> int:
    try:
        print(importer.undo(con, args.import_id, ACCESS))
    except importer.UndoRefused as refused:
        print(str(refused), file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def _access(con, args) -> int:
    try:
        return ACCESS_ACTIONS[args.action](con, args)
    except grants.GrantError as refused:
        for message in refused.messages:
            print(message, file=sys.stderr)
        return EXIT_REFUSED


def _grants_list(con, args) -> int:
    table = grants.list_grants(con, ACCESS, include_revoked=args.tous)
    if args.format == "json":
        records = table.astype(object).where(table.notna(), None).to_dict("records")
        print(json.dumps(records, default=_json_default, ensure_ascii=False, indent=2))
        return EXIT_OK
    if table.empty:
        print("Aucun droit." if args.tous else "Aucun droit en vigueur.")
    for r in table.to_dict("records"):
        since = f"depuis le {text.format_date(r['granted_at'])}"
        if isinstance(r["revoked_by"], str):
            since = f"du {text.format_date(r['granted_at'])} au {text.format_date(r['revoked_at'])}, " \
                    f"retiré par {r['revoked_by']}"
        print(f"n° {r['id']:<4} {grants.person_label(r['email'], r['subject'])}  "
              f"{rights.ROLE_WORDS.get(r['role'], r['role'])}  "
              f"{grants.scope_label(r['role'], r['networks'], r['structures'])}  "
              f"accordé par {r['granted_by']} {since}")
    return EXIT_OK


def _grants_add(con, args) -> int:
    grant_id = grants.grant(con, ACCESS, email=args.email, subject=args.sujet, role=args.role,
                            networks=args.reseau, structures=args.structure)
    print(f"Droit n° {grant_id} accordé : {grants.describe(con, ACCESS, grant_id)}.")
    return EXIT_OK


def _grants_revoke(con, args) -> int:
    print(grants.revoke(con, ACCESS, args.grant_id))
    return EXIT_OK


def _grants_import(con, args) -> int:
    with open(args.file, "rb") as f:
        content = f.read(grants.MAX_FILE_BYTES + 1)  # enough to know it is too big, never more
    try:
        print(grants.import_grants(con, ACCESS, content, args.file.name).message)
    except grants.GrantError as refused:
        for message in refused.messages:
            print(message, file=sys.stderr)
        print("Aucun droit n'a été enregistré.", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def _grants_journal(con, args) -> int:
    table = grants.journal(con, ACCESS, args.limite)
    if table.empty:
        print("Le journal est vide.")
    for r in table.to_dict("records"):
        print(f"{r['logged_at']:%d/%m/%Y %H:%M:%S}  {r['action']:<14} {r['who'] or '–'} : {r['detail'] or ''}")
    return EXIT_OK


def _backup(con, args) -> int:
    try:
        summary = backup.back_up(con, args.output)
    except backup.BackupRefused as refused:
        print(str(refused), file=sys.stderr)
        return EXIT_REFUSED
    print(f"Sauvegarde écrite dans {summary.path} : {backup.contents_words(summary)}.")
    return EXIT_OK


def _restore(args) -> int:
    try:
        summary = backup.restore(args.folder, args.db, args.force)
    except backup.BackupRefused as refused:
        print(str(refused), file=sys.stderr)
        return EXIT_REFUSED
    print(f"Base restaurée dans {summary.path} depuis la sauvegarde du {summary.taken_at:%d/%m/%Y à %H:%M} : "
          f"{backup.contents_words(summary)}.")
    if summary.left_empty:
        print(f"La sauvegarde, d'une version antérieure, n'avait pas ces tables, laissées vides : "
              f"{', '.join(summary.left_empty)}.")
    return EXIT_OK


def _actions(con, args) -> int:
    from indicators import actions  # the engine runs for the before/after: only for this command

    try:
        if args.action == "ajouter":
            number = actions.add(con, ACCESS, args.structure, args.titre, args.indicateurs, args.debut, args.fin,
                                 args.responsable, args.commentaire)
            print(f"Action n° {number} enregistrée pour {args.structure}.")
        elif args.action == "retirer":
            print(actions.remove(con, ACCESS, args.action_id))
        else:
            _actions_list(con, actions, args)
    except actions.ActionError as refused:
        for message in refused.messages:
            print(message, file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def _actions_list(con, actions, args) -> None:
    listed = actions.listing(con, ACCESS, args.structure)
    found = {int(row["id"]): ({**row, "end_on": row["end_on"] if row["end_on"] == row["end_on"] else None},  # NaT
                              actions.before_after(con, ACCESS, row)) for row in listed.to_dict("records")}
    if args.format == "json":
        print(json.dumps([{**{k: (list(v) if k == "indicators" else v) for k, v in row.items()},
                           "avant_apres": [{"indicator": c.indicator_code, "before": c.value_before,
                                            "after": c.value_after, "n_before": c.n_before, "n_after": c.n_after,
                                            "change": c.change if c.compared else None, "sentence": c.sentence}
                                           for c in comparisons]}
                          for row, comparisons in found.values()],
                         default=_json_default, ensure_ascii=False, indent=2))
        return
    if not found:
        print("Aucune action.")
    for number, (row, comparisons) in found.items():
        print(f"n° {number:<4} {row['structure_code']}  {row['title']}  "
              f"{actions.dates_words(row['start_on'], row['end_on'])}  ({row['indicator_labels']})")
        for comparison in comparisons:
            print(f"        {comparison.label} : {comparison.sentence}")


def _trajectory(con, args) -> int:
    from indicators import trajectory  # scipy and the history's engine: only for this command

    try:
        found = trajectory.document(con, ACCESS, args.structure, date.today())
    except rights.AccessRefused as unknown:  # a typo, not a refusal: usage (exit 2), as status and fiche say it
        print(str(unknown), file=sys.stderr)
        return EXIT_USAGE
    if args.format == "json":
        print(json.dumps(found, default=_json_default, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{args.structure} : niveau atteignable {found['level']} sur les 12 mois du "
          f"{text.format_date(date.fromisoformat(found['window']['start']))} au "
          f"{text.format_date(date.fromisoformat(found['window']['end']))}")
    for sentence in found["sentences"]:
        print(f"  {text.capital(sentence)}.")
    if found["monthly_levels"]:
        print("Niveau mois par mois (fenêtre de 12 mois finissant ce mois-là) :")
    else:
        print("Pas encore 12 mois de données : pas de niveau mois par mois.")
    for month in found["monthly_levels"]:
        print(f"  {text.month_words(date.fromisoformat(month['month']))} : {month['level']}")
    for projected in found["projections"]:
        print(f"{projected['label']} : {projected['sentence']}")
    return EXIT_OK


ACCESS_ACTIONS = {"liste": _grants_list, "ajouter": _grants_add, "retirer": _grants_revoke,
                  "importer": _grants_import, "journal": _grants_journal}
COMMANDS = {"import": _import, "status": _status, "export": _export, "fiche": _fiche, "demo": _demo,
            "history": _history, "undo": _undo, "acces": _access, "sauvegarde": _backup, "actions": _actions,
            "trajectoire": _trajectory}
