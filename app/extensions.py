"""Extensions, created unbound and bound to the app in ``create_app``."""

import sqlite3

from flask_babel import Babel
from flask_caching import Cache
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
babel = Babel()
talisman = Talisman()
# Public pages for visitors, kept a few seconds (``shared.web.public_page``).
page_cache = Cache()


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    """Make SQLite behave like a real transactional database.

    pysqlite's own transaction handling starts transactions late and cannot nest
    SAVEPOINTs; we take over (the recipe from SQLAlchemy's SQLite docs) and use
    BEGIN IMMEDIATE so that the web server and the worker queue for the write lock
    instead of failing with "database is locked" halfway through a transaction.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL loses no committed transaction on a crash of the process.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    if (connection.dialect.name == "sqlite"
            and connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
