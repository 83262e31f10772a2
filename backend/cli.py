"""teleconsult-server: serve, init, create-user, verify-audit, backup, restore."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from backend.config import ServerSettings, resolve_database_url
from backend.schemas import ROLES

_KEY_FILE_HELP = (
    "the JWT secret's file, created 0600 when missing (default: TELECONSULT_KEY_FILE, else beside a "
    "SQLite file, else in the user data dir)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teleconsult-server", description="Teleconsult thin backend")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--database-url",
            default=None,
            help="sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (default: SQLite in the user data dir)",
        )
        return p

    serve = with_db(commands.add_parser("serve", help="run the server"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument("--cert", default=None, help="TLS certificate (PEM)")
    serve.add_argument("--key", default=None, help="TLS private key (PEM)")
    serve.add_argument("--target-wait-minutes", type=float, default=15.0)
    serve.add_argument("--port-file", type=Path, default=None, help="write the bound port here")
    serve.add_argument("--seed-demo", action="store_true", help="create the demo users and consult")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--jwt-key-file", default=None, help=_KEY_FILE_HELP)

    init = with_db(commands.add_parser("init", help="create or migrate the database and generate the secret"))
    init.add_argument("--jwt-key-file", default=None, help=_KEY_FILE_HELP)

    create = with_db(commands.add_parser("create-user", help="add a user"))
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--display-name", default=None)
    create.add_argument("--specialty", action="append", default=[], dest="specialties")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _audit_key_options(create)

    verify = with_db(
        commands.add_parser("verify-audit", help="check the audit chain with its key and checkpoints")
    )
    _audit_key_options(verify)

    backup = with_db(commands.add_parser("backup", help="copy the database to a file while it runs"))
    backup.add_argument("file", type=Path, help="backup file to write (SQLite file or pg_dump custom format)")
    restore = with_db(
        commands.add_parser("restore", help="replace the database with a backup, then migrate it")
    )
    restore.add_argument("file", type=Path, help="a file written by `teleconsult-server backup`")
    restore.add_argument("--yes", action="store_true", help="confirm: the database's contents are replaced")
    return parser


def _serve(args: argparse.Namespace, url: str) -> int:
    from backend.server import serve

    if (args.cert is None) != (args.key is None):
        print("--cert and --key go together", file=sys.stderr)
        return 2
    if args.target_wait_minutes <= 0:
        print("--target-wait-minutes must be positive", file=sys.stderr)
        return 2
    settings = ServerSettings(
        database_url=url, target_wait_minutes=args.target_wait_minutes, key_file=args.jwt_key_file
    )
    serve(
        settings,
        args.host,
        args.port,
        certfile=args.cert,
        keyfile=args.key,
        port_file=args.port_file,
        seed_demo=args.seed_demo,
        log_level=args.log_level,
    )
    return 0


def _init(url: str, key_file: str | None) -> int:
    from backend.config import resolve_key_file
    from backend.db import Database
    from backend.server import prepare_with_secret, private_sqlite

    private_sqlite(url)
    db = Database(url)
    try:
        prepare_with_secret(ServerSettings(database_url=url, key_file=key_file), db)
    finally:
        db.dispose()
    print(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")
    print(f"JWT key file: {resolve_key_file(url, key_file)}")
    return 0


def _audit_key_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jwt-key-file", default=None, help="the server's JWT key file (default as serve)")
    p.add_argument("--audit-key-file", default=None, help="audit chain key (default: beside the JWT key)")
    p.add_argument(
        "--audit-checkpoint-file", default=None, help="signed audit checkpoints (default: beside the JWT key)"
    )


def _audit_settings(args: argparse.Namespace, url: str) -> ServerSettings:
    return ServerSettings(
        database_url=url,
        key_file=args.jwt_key_file,
        audit_key_file=args.audit_key_file,
        audit_checkpoint_file=args.audit_checkpoint_file,
    )


def _create_user(args: argparse.Namespace, url: str) -> int:
    from backend.db import Database
    from backend.migrate import prepare
    from backend.users import UserExistsError, create_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.username}: ")
        if password != getpass.getpass("Again: "):
            print("passwords differ", file=sys.stderr)
            return 2
    from backend import audit

    db = Database(url)
    try:
        prepare(db)
        audit.configure_from_settings(db.engine, _audit_settings(args, url))
        user_id = create_user(
            db,
            args.username,
            password,
            args.role,
            args.display_name,
            args.specialties,
            actor="cli",
            check_password=True,
        )
    except UserExistsError:
        print(f"user {args.username!r} exists", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        audit.shutdown_checkpoint(db)
        db.dispose()
    print(f"created user {args.username} (id {user_id}, {args.role})")
    return 0


def _verify_audit(args: argparse.Namespace, url: str) -> int:
    from backend import audit
    from backend.db import Database

    settings = _audit_settings(args, url)
    key_file, _points = audit.default_paths(url, settings.key_file)
    key_file = Path(settings.audit_key_file) if settings.audit_key_file else key_file
    db = Database(url)
    try:
        ring = None
        if key_file.exists():  # verify never creates a key
            ring = audit.configure_from_settings(db.engine, settings)
        with db.transaction(readonly=True) as session:
            result = audit.verify(session, ring)
    finally:
        db.dispose()
    if result.ok:
        print(f"audit chain intact ({result.checked} records)")
        return 0
    print(f"audit chain broken at record {result.first_broken_id}: {result.reason}")
    return 1


def _backup(args: argparse.Namespace, url: str) -> int:
    from backend.backup import BackupError, backup, restore

    try:
        if args.command == "backup":
            info = backup(url, args.file)
            print(f"backup of the {info.kind} database written to {info.path} ({info.size_bytes} bytes)")
            return 0
        if not args.yes:
            print(
                "restore replaces everything in the database with the backup; stop the server, "
                "then run again with --yes",
                file=sys.stderr,
            )
            return 2
        info = restore(url, args.file)
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"restored {info.path} into the {info.kind} database and migrated it to the current schema")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = resolve_database_url(args.database_url)
    if args.command == "serve":
        return _serve(args, url)
    if args.command == "init":
        return _init(url, args.jwt_key_file)
    if args.command == "create-user":
        return _create_user(args, url)
    if args.command in ("backup", "restore"):
        return _backup(args, url)
    return _verify_audit(args, url)


if __name__ == "__main__":
    raise SystemExit(main())
