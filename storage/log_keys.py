"""Loading the evidence log's signing keys from a key file or the environment.

Key file format, one key per line (``#`` starts a comment, blank lines are ignored):
``PRIVATE+KEY+<name>+<id>+<base64>`` signing keys — the *last* one is active, so rotating is
appending a new key — and ``<name>+<id>+<base64>`` verifier keys of retired signing keys whose
private part was destroyed. Every key ever used stays listed so old checkpoints still verify.

When neither a key file nor a key in the environment is configured, a key named after the
log's origin is generated once into ``<var>/secrets/log_signing_key`` (mode 0600) and reused.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from storage.signed_note import KeyRing, NoteError, Signer, Verifier

__all__ = ["GENERATED_KEY_FILE", "load_key_ring", "parse_key_file"]

log = logging.getLogger(__name__)
GENERATED_KEY_FILE = Path("secrets") / "log_signing_key"


def parse_key_file(text: str) -> tuple[list[Signer], list[Verifier]]:
    """Signing and verifier keys in file order; a bad line is an error naming its number."""
    signers: list[Signer] = []
    verifiers: list[Verifier] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            if line.startswith("PRIVATE+KEY+"):
                signers.append(Signer.from_skey(line))
            else:
                verifiers.append(Verifier.from_vkey(line))
        except NoteError as error:
            raise NoteError(f"log key file line {number}: {error}") from None
    return signers, verifiers


def _generated(var_dir: Path, origin: str) -> Path:
    path = var_dir / GENERATED_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        signer = Signer.generate(origin)
        # O_EXCL: two processes starting together must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path
        with os.fdopen(fd, "w") as out:
            out.write(f"# evidence log signing key, generated on first start\n{signer.skey}\n")
        log.warning("generated a new evidence log signing key %s", signer.verifier.vkey)
    return path


def load_key_ring(
    *,
    origin: str,
    var_dir: Path,
    key_file: Path | None = None,
    signing_key: str = "",
    verifier_keys: Sequence[str] = (),
) -> KeyRing:
    """The key ring: signing key from the environment, else the key file, else generated."""
    if key_file is None and not signing_key:
        key_file = _generated(var_dir, origin)
    signers, retired = parse_key_file(key_file.read_text()) if key_file else ([], [])
    if signing_key:
        signers.append(Signer.from_skey(signing_key))
    retired += [Verifier.from_vkey(v) for v in verifier_keys]
    if not signers:
        raise NoteError(f"no signing key (PRIVATE+KEY+...) in {key_file}")
    return KeyRing(signers, active=len(signers) - 1, retired=retired)
