"""Case handlers: accounts with a department and a role, scrypt-hashed passwords and expiring sessions.

A session is a random token held in the browser's cookie; the store keeps only its SHA-256, so a leaked
database does not hand out live sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.config import TenantConfig
from pipeline.store import SessionRow, UserRow

# scrypt at n=2**14, r=8 costs about 16 MiB and tens of milliseconds: slow for guessing, fine for signing in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


class Role(StrEnum):
    """`handlaggare` sees the unredacted text of its department's cases; `assistent` sees redacted text only."""

    HANDLAGGARE = "handlaggare"
    ASSISTENT = "assistent"


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    department: str
    role: Role

    @property
    def sees_raw_text(self) -> bool:
        return self.role == Role.HANDLAGGARE


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _to_user(row: UserRow) -> User:
    return User(row.username, row.display_name, row.department, Role(row.role))


class UserDirectory:
    """Users and sessions in the case store."""

    def __init__(self, engine: Engine, tenant: TenantConfig) -> None:
        self.engine = engine
        self.tenant = tenant

    def add(self, username: str, password: str, department: str, role: str, display_name: str | None = None) -> User:
        if not _USERNAME.match(username):
            raise UserError(f"username '{username}' must be 2-63 lower-case letters, digits, '.', '_' or '-'")
        if department not in self.tenant.department_queues:
            raise UserError(f"department '{department}' is not one of {self.tenant.tenant}'s: "
                            f"{', '.join(sorted(self.tenant.department_queues))}")
        if role not in {r.value for r in Role}:
            raise UserError(f"role '{role}' is not one of {', '.join(r.value for r in Role)}")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        with Session(self.engine) as session, session.begin():
            if session.get(UserRow, username) is not None:
                raise UserError(f"user '{username}' already exists")
            row = UserRow(username=username, display_name=display_name or username, department=department, role=role,
                          password_hash=hash_password(password), active=True, created_at=datetime.now(UTC))
            session.add(row)
            return _to_user(row)

    def list(self) -> list[User]:
        with Session(self.engine) as session:
            return [_to_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.username))]

    def get(self, username: str) -> User | None:
        with Session(self.engine) as session:
            row = session.get(UserRow, username)
            return _to_user(row) if row is not None and row.active else None

    def authenticate(self, username: str, password: str) -> User | None:
        with Session(self.engine) as session:
            row = session.get(UserRow, username)
            # Hash even for unknown users, so response time does not reveal which usernames exist.
            stored = row.password_hash if row is not None else hash_password("timing-equaliser")
            if verify_password(password, stored) and row is not None and row.active:
                return _to_user(row)
            return None

    def start_session(self, username: str, ttl: timedelta) -> str:
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            session.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            session.add(SessionRow(token_hash=_token_hash(token), username=username, created_at=now,
                                   expires_at=now + ttl))
        return token

    def session_user(self, token: str | None, now: datetime | None = None) -> User | None:
        """The user of a live session; an expired or unknown token gives None."""
        if not token:
            return None
        with Session(self.engine) as session:
            row = session.get(SessionRow, _token_hash(token))
            if row is None or _as_utc(row.expires_at) <= (now or datetime.now(UTC)):
                return None
            user = session.get(UserRow, row.username)
            return _to_user(user) if user is not None and user.active else None

    def end_session(self, token: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(SessionRow).where(SessionRow.token_hash == _token_hash(token)))
