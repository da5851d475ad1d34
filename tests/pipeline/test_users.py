"""Handlers' accounts: hashed passwords, validated departments and roles, sessions that expire."""

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.store import UserRow, open_store
from pipeline.users import UserDirectory, UserError, hash_password, verify_password


@pytest.fixture
def directory(tmp_path, tenant):
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    yield UserDirectory(store.engine, tenant)
    store.dispose()


def test_passwords_are_salted_scrypt_hashes():
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("scrypt$") and first != second and "correct" not in first
    assert verify_password("correct horse battery", first) and not verify_password("correct horse batterx", first)
    assert not verify_password("anything", "md5$abc")


def test_add_and_authenticate(directory):
    directory.add("sara", "hemligt-lösen-1", "socialtjanst", "handlaggare", "Sara S")
    with directory.engine.connect() as connection:
        stored = connection.execute(UserRow.__table__.select()).one()
    assert "hemligt" not in stored.password_hash
    assert directory.authenticate("sara", "hemligt-lösen-1").department == "socialtjanst"
    assert directory.authenticate("sara", "fel-lösenord-1") is None
    assert directory.authenticate("okand", "hemligt-lösen-1") is None


@pytest.mark.parametrize(("args", "message"), [
    (("Sara", "long enough pw", "socialtjanst", "handlaggare"), "username"),
    (("sara", "long enough pw", "okand_avdelning", "handlaggare"), "department"),
    (("sara", "long enough pw", "socialtjanst", "chef"), "role"),
    (("sara", "kort", "socialtjanst", "handlaggare"), "at least"),
])
def test_bad_users_are_refused_with_the_reason(directory, args, message):
    with pytest.raises(UserError, match=message):
        directory.add(*args)


def test_duplicate_user_is_refused(directory):
    directory.add("sara", "long enough pw", "socialtjanst", "handlaggare")
    with pytest.raises(UserError, match="already exists"):
        directory.add("sara", "long enough pw", "teknik", "handlaggare")


def test_sessions_expire_and_end(directory):
    directory.add("tove", "long enough pw", "teknik", "assistent")
    token = directory.start_session("tove", timedelta(hours=1))
    assert directory.session_user(token).username == "tove"
    assert directory.session_user(token, now=datetime.now(UTC) + timedelta(hours=2)) is None
    assert directory.session_user("forged") is None and directory.session_user(None) is None
    directory.end_session(token)
    assert directory.session_user(token) is None
