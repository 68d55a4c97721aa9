"""Database: typed SQLAlchemy 2 models, engine and session factory."""

from cloud_api.db.base import Base, utcnow
from cloud_api.db.session import Database, make_engine

__all__ = ["Base", "Database", "make_engine", "utcnow"]
