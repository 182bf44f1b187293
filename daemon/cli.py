"""`lorabot daemon`, `lorabot migrate` and `lorabot demo`."""

import argparse
import asyncio
import sys
from pathlib import Path

Subparsers = argparse._SubParsersAction  # type: ignore[type-arg]


def add_daemon_parsers(subparsers: Subparsers) -> None:
    """Register the daemon's subcommands."""
    serve = subparsers.add_parser("daemon", help="Serve the RPC (settings from LORABOT_* vars).")
    serve.add_argument("--host", help="Override LORABOT_HOST.")
    serve.add_argument("--port", type=int, help="Override LORABOT_PORT.")
    serve.set_defaults(func=run_daemon)
    migrate = subparsers.add_parser("migrate", help="Upgrade the database schema to the latest.")
    migrate.set_defaults(func=run_migrate)
    demo = subparsers.add_parser(
        "demo", help="Start a daemon and drive a scripted run against it."
    )
    demo.add_argument("--data-dir", type=Path, help="Keep the demo's data here (default: temp).")
    demo.add_argument("--port", type=int, default=0, help="Port of the demo daemon (0: free).")
    demo.set_defaults(func=run_demo)


def run_daemon(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from aiohttp import web

    from core.config_files import ConfigFileError
    from core.logging import configure_logging
    from core.settings import Settings
    from daemon.app import create_app

    settings = Settings()
    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v}
    if overrides:
        settings = settings.model_copy(update=overrides)
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ConfigFileError as exc:
        print(f"lorabot daemon: {exc}", file=sys.stderr)
        return 2
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        shutdown_timeout=10,
    )
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    """Upgrade the configured database to the latest schema."""
    from core.db.migrate import upgrade_to_head
    from core.db.session import create_engine
    from core.settings import Settings

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def migrate() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    print(f"schema is up to date: {settings.resolved_database_url}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Start a throwaway daemon and walk through the product with it."""
    from daemon.demo import main

    return asyncio.run(main(data_dir=args.data_dir, port=args.port))
