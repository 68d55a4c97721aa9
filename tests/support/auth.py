"""Log a test user in without a password round trip: a real, revocable API session row."""

from __future__ import annotations

from cloud_api.db.models import User
from cloud_api.db.session import Database
from cloud_api.people import accounts
from cloud_api.people.config import SessionConfig


def api_token(db: Database, user_id: int) -> str:
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None, f"no user {user_id}"
        return accounts.open_session(session, user, "api", SessionConfig()).token
