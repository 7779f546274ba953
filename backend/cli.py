"""``gridledger``: serve, run commands against throwaway services, rebuild projections."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.settings import Settings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    result: int = handler(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridledger", description=__doc__)
    sub = parser.add_subparsers()
    serve = sub.add_parser("serve", help="run the API and workers (embedded services by default)")
    serve.add_argument("--demo", action="store_true", help="seed the demo township if absent")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(handler=_serve)
    services = sub.add_parser(
        "with-services", help="start throwaway PostgreSQL + S3, run a command, tear down"
    )
    services.add_argument("command", nargs=argparse.REMAINDER)
    services.set_defaults(handler=_with_services)
    proj = sub.add_parser("projections", help="projection status and rebuild")
    proj_sub = proj.add_subparsers()
    rebuild = proj_sub.add_parser("rebuild", help="rebuild from zero (all or one by name)")
    rebuild.add_argument("name", nargs="?")
    rebuild.set_defaults(handler=_rebuild)
    status = proj_sub.add_parser("status", help="positions and lag")
    status.set_defaults(handler=_status)
    errcodes = sub.add_parser("errcodes", help="print the errcode table as Markdown")
    errcodes.set_defaults(handler=_errcodes)
    log_key = sub.add_parser(
        "log-key", help="generate an evidence log signing key (append it to the key file)"
    )
    log_key.add_argument("name", help="key name; by convention the log's origin")
    log_key.set_defaults(handler=_log_key)
    from backend.verify import add_verify_parser  # offline: imports no server modules

    add_verify_parser(sub)
    return parser


def _log_key(args: argparse.Namespace) -> int:
    """The signing key on stdout (for GRIDLEDGER_LOG_KEY_FILE, never to be shared) and its
    verifier key on stderr (for anyone who checks checkpoints)."""
    from storage.signed_note import NoteError, Signer

    try:
        signer = Signer.generate(args.name)
    except NoteError as error:
        print(f"gridledger: {error}", file=sys.stderr)
        return 2
    print(signer.skey)
    print(f"verifier key: {signer.verifier.vkey}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import dataclasses

    from backend.server import serve
    from backend.settings import load_settings

    settings = load_settings()
    settings = dataclasses.replace(
        settings, host=args.host or settings.host, port=args.port or settings.port
    )
    return serve(settings, demo=args.demo, announce=lambda: _announce(settings, demo=args.demo))


def _announce(settings: Settings, *, demo: bool) -> None:
    """Printed once the API is ready (after migrations, and the demo seed if asked)."""
    url = f"http://{settings.host}:{settings.port}"
    print(
        f"gridledger: serving {url} (OpenAPI at {url}/schema, health at {url}/health)", flush=True
    )
    if settings.dev_login and settings.embedded:
        print(
            "gridledger: development login enabled: POST /v1/auth/dev-login "
            '{"staff_id": ..., "device_id": ...}',
            flush=True,
        )
    if demo:
        from backend.demo import generate_township
        from backend.services.demo_seed import demo_staff_id

        shown: set[str] = set()
        for member in generate_township().staff:
            if member.role not in shown:
                shown.add(member.role)
                print(
                    f"gridledger: demo {member.role} {member.name}: staff_id "
                    f"{demo_staff_id(member.key)}",
                    flush=True,
                )


def _with_services(args: argparse.Namespace) -> int:
    from backend.runtime import throwaway_services

    command = [c for c in args.command if c != "--"] or ["true"]
    keys = {"access_key": "gridledger-test", "secret_key": "gridledger-test-secret"}
    with throwaway_services(**keys) as urls:
        env = {
            **os.environ,
            "DATABASE_URL": urls.database_url,
            "S3_ENDPOINT": urls.s3_endpoint,
            "S3_ACCESS_KEY": keys["access_key"],
            "S3_SECRET_KEY": keys["secret_key"],
        }
        print(f"gridledger: test services up: {urls.database_url} {urls.s3_endpoint}", flush=True)
        return _run_until_done(command, env)


def _run_until_done(command: list[str], env: dict[str, str]) -> int:
    """Run ``command``; a SIGTERM/SIGINT to us stops it and still tears the services down
    (Python's default SIGTERM would skip the ``finally`` and leave them running)."""
    child = subprocess.Popen(command, env=env)

    def stop(signum: int, _frame: object) -> None:
        child.terminate()
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _connect() -> tuple[object, str]:
    from backend.settings import load_settings

    settings = load_settings()
    if settings.database_url is None:
        sys.exit(
            "gridledger: set DATABASE_URL, or run `gridledger serve` for the embedded one "
            f"(postgresql://postgres@127.0.0.1:{settings.pg_port}/gridledger)"
        )
    return settings, settings.database_url


def _rebuild(args: argparse.Namespace) -> int:
    from backend.settings import load_settings
    from projections.rebuild import rebuild_projections

    _, url = _connect()
    zone = load_settings().business_zone  # fold the days the server folds
    return asyncio.run(rebuild_projections(url, args.name, zone=zone))


def _status(args: argparse.Namespace) -> int:
    from projections.rebuild import print_status

    _, url = _connect()
    return asyncio.run(print_status(url))


def _errcodes(args: argparse.Namespace) -> int:
    from backend.errors import errcode_table

    print(errcode_table(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
