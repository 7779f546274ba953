"""``gridledger verify``: what it prints and how it exits, on bundles built in the tests."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from backend.cli import main
from backend.verify import run_verify
from storage.signed_note import Signer
from tests.unit.storage.test_bundle import Log, build, log, rewrite_member  # noqa: F401

Run = tuple[int, str, str]


def run(*argv: str) -> Run:
    from backend.cli import _parser

    args = _parser().parse_args(["verify", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_verify(args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def bundle_file(tmp_path: Path, log: Log) -> Path:  # noqa: F811
    path = tmp_path / "evidence.zip"
    path.write_bytes(build(log))
    return path


def test_it_prints_what_it_verified(bundle_file: Path, log: Log) -> None:  # noqa: F811
    code, out, err = run(str(bundle_file), "--key", log.vkey())
    assert code == 0, err
    assert "OK" in out
    assert "tree size 9" in out
    assert "events: 3 verified" in out
    assert "photos: 1 verified" in out
    assert f"+{log.ring.active.key_id:08x} (given key)" in out
    assert err == ""


def test_keys_may_come_from_a_file(bundle_file: Path, log: Log, tmp_path: Path) -> None:  # noqa: F811
    keys = tmp_path / "log.vkey"
    keys.write_text(f"# the township's published key\n{log.vkey()}\n")
    assert run(str(bundle_file), "--key", str(keys))[0] == 0


def test_only_the_bundled_key_warns_on_stderr(bundle_file: Path) -> None:
    code, _, err = run(str(bundle_file))
    assert code == 0
    assert "WARNING" in err


def test_a_kept_checkpoint_of_another_size_fails(
    bundle_file: Path,
    log: Log,  # noqa: F811
    tmp_path: Path,
) -> None:
    kept = tmp_path / "kept.note"
    kept.write_text(log.note(7))
    code, _, err = run(str(bundle_file), "--key", log.vkey(), "--checkpoint", str(kept))
    assert code == 1
    assert "FAILED" in err
    assert "tree size 7" in err


def test_an_unknown_key_fails_with_exit_1(bundle_file: Path) -> None:
    stranger = Signer.generate("gridledger.test").verifier.vkey
    code, _, err = run(str(bundle_file), "--key", stranger)
    assert code == 1
    assert "unknown key" in err


def test_a_forged_bundle_fails_naming_the_file(bundle_file: Path, log: Log) -> None:  # noqa: F811
    bundle_file.write_bytes(
        rewrite_member(bundle_file.read_bytes(), "keys.vkey", b"x\n", fix_manifest=False)
    )
    code, _, err = run(str(bundle_file), "--key", log.vkey())
    assert code == 1
    assert "keys.vkey: content does not match" in err


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path / "absent.zip")]) == 2


def test_without_a_bundle_or_log_it_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify"]) == 2
    assert "give a bundle file, or --log" in capsys.readouterr().err
