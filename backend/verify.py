"""``gridledger verify BUNDLE``: check an evidence bundle offline — no database, no server.
``gridledger verify --log``: check the whole stored log against its latest signed checkpoint
(reads the database; for the operator or an auditor with database access).

Exit status 0 when everything verified, 1 when something did not (the message names the first
bad position or object), 2 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from storage.merkle import Frontier, StoredRecord, record_leaf_hash
from storage.signed_note import NoteError, Verifier, open_note, parse_checkpoint

__all__ = ["LogReport", "LogTampered", "add_verify_parser", "check_log", "run_verify"]


def add_verify_parser(sub: Any) -> None:
    verify = sub.add_parser(
        "verify", help="check an evidence bundle offline (events, proofs, checkpoint, photos)"
    )
    verify.add_argument(
        "bundle", type=Path, nargs="?", help="the bundle (.zip) exported for an auditor"
    )
    verify.add_argument(
        "--log",
        action="store_true",
        help="check the stored log (DATABASE_URL) against its latest signed checkpoint instead",
    )
    verify.add_argument(
        "--checkpoint",
        type=Path,
        help="a signed checkpoint you kept (instead of the one in the bundle)",
    )
    verify.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="VKEY",
        help="the log's verifier key (name+id+base64), or a file of them; repeatable",
    )
    verify.set_defaults(handler=run_verify)


def run_verify(
    args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    from storage.bundle import BundleError
    from storage.bundle_verify import verify_bundle

    out, err = out or sys.stdout, err or sys.stderr  # looked up now: tests swap the streams

    if args.log:
        return _run_log_check(args, out=out, err=err)
    if args.bundle is None:
        print("gridledger verify: give a bundle file, or --log", file=err)
        return 2
    try:
        keys = _keys(args.key)
        note = args.checkpoint.read_text() if args.checkpoint else None
        with args.bundle.open("rb") as bundle:
            report = verify_bundle(bundle, checkpoint_note=note, keys=keys)
    except OSError as exc:
        print(f"gridledger verify: cannot read {exc.filename}: {exc.strerror}", file=err)
        return 2
    except BundleError as exc:
        print(f"gridledger verify: FAILED: {args.bundle}: {exc}", file=err)
        return 1
    for warning in report.warnings:
        print(f"gridledger verify: {warning}", file=err)
    subject = report.subject
    print(f"gridledger verify: OK {args.bundle}", file=out)
    print(f"  subject: {subject.get('kind')} {subject.get('id')}", file=out)
    print(f"  exported: {subject.get('exported_at')} (reason: {subject.get('reason')})", file=out)
    print(f"  checkpoint: tree size {report.tree_size}, root {report.root_hash.hex()}", file=out)
    print(f"  signed by: {', '.join(report.key_ids)} ({report.trusted_keys} key)", file=out)
    print(f"  events: {report.events} verified by inclusion proof", file=out)
    print(f"  photos: {report.photos} verified by SHA-256", file=out)
    return 0


def _keys(given: list[str]) -> list[str]:
    """Each ``--key`` is a verifier key, or a file with one per line (``#`` comments)."""
    keys: list[str] = []
    for value in given:
        path = Path(value)
        if "+" not in value or path.is_file():
            lines = path.read_text().splitlines()
            keys += [k.split("#", 1)[0].strip() for k in lines if k.split("#", 1)[0].strip()]
        else:
            keys.append(value)
    return keys


def _run_log_check(args: argparse.Namespace, *, out: TextIO, err: TextIO) -> int:
    import asyncio

    try:
        keys = _keys(args.key)
        report = asyncio.run(check_log(database_url_for_check(), keys=keys))
    except OSError as exc:
        print(f"gridledger verify: cannot read {exc.filename}: {exc.strerror}", file=err)
        return 2
    except LogTampered as exc:
        print(f"gridledger verify: FAILED: the log: {exc}", file=err)
        return 1
    for warning in report.warnings:
        print(f"gridledger verify: {warning}", file=err)
    print("gridledger verify: OK the stored log", file=out)
    print(f"  checkpoint: tree size {report.tree_size}, root {report.root_hash.hex()}", file=out)
    print(f"  signed by: {', '.join(report.key_ids)}", file=out)
    print(f"  events: {report.events} match their sealed leaves", file=out)
    print(f"  not sealed yet: {report.unsealed} newer events", file=out)
    return 0


# -- the whole stored log ------------------------------------------------------------------------


class LogTampered(ValueError):
    """The stored log does not match its signed checkpoint; the message names the first place."""


@dataclass
class LogReport:
    tree_size: int
    root_hash: bytes
    key_ids: list[str]
    events: int
    unsealed: int
    warnings: list[str] = field(default_factory=list)


# Every event up to the last sealed position and every sealed leaf, side by side in log order:
# a deleted event leaves a leaf alone, a later-inserted one an event without a leaf.
_SIDE_BY_SIDE = """
    SELECT coalesce(e.notification_id, l.position) AS position, l.leaf_index, l.leaf_hash,
           e.originator_id, e.originator_version, e.topic, e.state
      FROM (SELECT * FROM gridledger_events WHERE notification_id <= $2) e
      FULL JOIN (SELECT * FROM merkle_leaves WHERE leaf_index < $1) l
        ON l.position = e.notification_id
     ORDER BY 1
"""


def database_url_for_check() -> str:
    """``DATABASE_URL``, else the embedded default's app role (its PostgreSQL must be up)."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    from backend.runtime import embedded_app_url
    from backend.settings import load_settings

    return embedded_app_url(load_settings())


async def check_log(database_url: str, *, keys: list[str]) -> LogReport:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        note = await conn.fetchval(
            "SELECT signed_note FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1"
        )
        if note is None:
            raise LogTampered("no signed checkpoint yet: nothing to check against")
        report = _open(note, keys)
        last = await conn.fetchval(
            "SELECT position FROM merkle_leaves WHERE leaf_index = $1", report.tree_size - 1
        )
        async with conn.transaction():
            cursor = conn.cursor(_SIDE_BY_SIDE, report.tree_size, last or 0)
            await _walk(cursor, report)
        report.unsealed = await conn.fetchval(
            "SELECT count(*) FROM gridledger_events WHERE notification_id > $1", last or 0
        )
    finally:
        await conn.close()
    return report


def _open(note: str, keys: list[str]) -> LogReport:
    if not keys:
        raise LogTampered("give the log's verifier key with --key: the database's own is no proof")
    try:
        opened = open_note(note, [Verifier.from_vkey(k) for k in keys])
        checkpoint = parse_checkpoint(opened.text)
    except NoteError as exc:
        raise LogTampered(f"latest checkpoint: {exc}") from None
    ids = [f"{v.name}+{v.key_id:08x}" for v in opened.verified_by]
    return LogReport(checkpoint.size, checkpoint.root_hash, ids, events=0, unsealed=0)


async def _walk(cursor: Any, report: LogReport) -> None:
    """Each event against its sealed leaf; the sealed leaves against the signed root."""
    frontier, first_problem = Frontier(), None
    async for row in cursor:
        position, leaf = row["position"], row["leaf_hash"]
        if leaf is not None:
            frontier.append(bytes(leaf))
        problem = _problem(row, position)
        first_problem = first_problem or problem
        report.events += row["topic"] is not None
    if frontier.size != report.tree_size or frontier.root() != report.root_hash:
        raise LogTampered(
            "the sealed leaves do not lead to the signed root: the leaf table was rewritten"
        )
    if first_problem:
        raise LogTampered(first_problem)


def _problem(row: Any, position: int) -> str | None:
    if row["topic"] is None:
        return f"position {position} (leaf {row['leaf_index']}): the sealed event is gone"
    if row["leaf_hash"] is None:
        return f"position {position}: an event that was never sealed sits among sealed ones"
    record = StoredRecord(
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
        position=position,
    )
    if record_leaf_hash(record) != bytes(row["leaf_hash"]):
        return f"position {position} (leaf {row['leaf_index']}): the stored event was altered"
    return None
