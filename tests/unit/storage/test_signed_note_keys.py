"""Where the log's signing keys come from: a key file, the environment, or generated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.cli import main
from storage.log_keys import GENERATED_KEY_FILE, load_key_ring, parse_key_file
from storage.signed_note import NoteError, Signer


def test_given_no_key_configured_then_one_is_generated_once_and_reused(tmp_path: Path) -> None:
    first = load_key_ring(origin="example.org/log", var_dir=tmp_path)
    again = load_key_ring(origin="example.org/log", var_dir=tmp_path)
    assert first.active.skey == again.active.skey
    assert first.active.name == "example.org/log"
    assert (tmp_path / GENERATED_KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_given_a_key_file_then_the_last_signing_key_is_active_and_all_verify(
    tmp_path: Path,
) -> None:
    old, new, retired = (Signer.generate("log") for _ in range(3))
    path = tmp_path / "keys"
    path.write_text(
        f"# rotated 2026-11\n{old.skey}\n\n{retired.verifier.vkey}  # destroyed\n{new.skey}\n"
    )
    ring = load_key_ring(origin="log", var_dir=tmp_path, key_file=path)
    assert ring.active.skey == new.skey
    assert {v.vkey for v in ring.verifiers} == {
        old.verifier.vkey,
        new.verifier.vkey,
        retired.verifier.vkey,
    }


def test_the_environment_key_overrides_the_file_and_extra_verifiers_are_kept(
    tmp_path: Path,
) -> None:
    in_file, in_env, retired = (Signer.generate("log") for _ in range(3))
    path = tmp_path / "keys"
    path.write_text(in_file.skey + "\n")
    ring = load_key_ring(
        origin="log",
        var_dir=tmp_path,
        key_file=path,
        signing_key=in_env.skey,
        verifier_keys=[retired.verifier.vkey],
    )
    assert ring.active.skey == in_env.skey
    assert retired.verifier in ring.verifiers
    assert in_file.verifier in ring.verifiers
    assert not (tmp_path / GENERATED_KEY_FILE).exists()


def test_a_bad_line_is_reported_with_its_number() -> None:
    good = Signer.generate("log")
    with pytest.raises(NoteError, match="line 2"):
        parse_key_file(f"{good.skey}\nPRIVATE+KEY+log+00000000+AAAA\n")


def test_a_file_with_only_verifier_keys_cannot_sign(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(Signer.generate("log").verifier.vkey + "\n")
    with pytest.raises(NoteError, match="no signing key"):
        load_key_ring(origin="log", var_dir=tmp_path, key_file=path)


def test_the_cli_generates_a_key_for_the_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["log-key", "example.org/log"]) == 0
    out, err = capsys.readouterr()
    path = tmp_path / "keys"
    path.write_text(out)
    ring = load_key_ring(origin="example.org/log", var_dir=tmp_path, key_file=path)
    assert err.strip() == f"verifier key: {ring.active.verifier.vkey}"
    assert main(["log-key", "has space"]) == 2
