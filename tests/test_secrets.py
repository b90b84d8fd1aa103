"""Keys and personal numbers at rest."""

from __future__ import annotations

import pytest

from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.secrets import MissingKeyError, Secret, load_keys


def test_keys_are_created_once_and_read_back(tmp_path):
    first = load_keys(tmp_path, create_missing=True)
    second = load_keys(tmp_path, create_missing=False)
    assert first == second
    assert (tmp_path / "pii-encryption.key").stat().st_mode & 0o077 == 0


def test_missing_keys_are_an_error_outside_development(tmp_path):
    with pytest.raises(MissingKeyError, match="keys init"):
        load_keys(tmp_path, create_missing=False)


def test_a_secret_never_prints_its_value():
    secret = Secret(b"very-secret-value-0123456789abcd")
    assert "very-secret" not in repr(secret) and "very-secret" not in str(secret) and "very-secret" not in f"{secret}"


def test_personal_numbers_encrypt_with_fresh_nonces_and_bound_purpose(tmp_path):
    keys = load_keys(tmp_path, create_missing=True)
    vault = PersonalNumberVault(keys.pii_encryption, keys.pii_hash)
    one, two = vault.encrypt("198112189876", "participant"), vault.encrypt("198112189876", "participant")
    assert one != two
    assert b"198112189876" not in one
    assert vault.decrypt(one, "participant") == "198112189876"
    with pytest.raises(ValueError):
        vault.decrypt(one, "staff")
    tampered = one[:-1] + bytes([one[-1] ^ 1])
    with pytest.raises(ValueError):
        vault.decrypt(tampered, "participant")


def test_the_keyed_hash_matches_only_under_the_same_key(tmp_path):
    a = load_keys(tmp_path / "a", create_missing=True)
    b = load_keys(tmp_path / "b", create_missing=True)
    va, vb = PersonalNumberVault(a.pii_encryption, a.pii_hash), PersonalNumberVault(b.pii_encryption, b.pii_hash)
    assert va.keyed_hash("198112189876") == va.keyed_hash("198112189876")
    assert va.keyed_hash("198112189876") != vb.keyed_hash("198112189876")


def test_finding_2_keys_made_in_development_are_marked_and_refused_in_production(tmp_path):
    from meetsvc.core.secrets import DEVELOPMENT_MARK, DevelopmentKeyError

    made = load_keys(tmp_path, create_missing=True, development=True)
    assert (tmp_path / "session.key").read_bytes().startswith(DEVELOPMENT_MARK)
    assert load_keys(tmp_path, create_missing=False, development=True) == made
    with pytest.raises(DevelopmentKeyError, match=r"security\.keys_dir: .*pii-encryption\.key is a development key"):
        load_keys(tmp_path, create_missing=False)
