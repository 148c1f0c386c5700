"""Flask extension objects, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from flask import g, has_request_context
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Set by database.reads_without_transaction for the rest of the request.
READS_WITHOUT_TRANSACTION = "advocacy_reads_without_transaction"
_autocommit_views: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


class Session(FlaskSession):
    """Flask-SQLAlchemy's session, which connects a request that only reads through an
    AUTOCOMMIT view of its engine (same pool): the choice costs nothing until, and unless,
    the request's first statement takes a connection."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        bind = super().get_bind(*args, **kwargs)
        if isinstance(bind, Engine) and has_request_context() and g.get(READS_WITHOUT_TRANSACTION):
            return autocommit_view(bind)
        return bind


def autocommit_view(engine: Engine) -> Engine:
    """``engine`` with every statement committed on its own (same pool), made once."""
    view = _autocommit_views.get(engine)
    if view is None:
        view = _autocommit_views[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return view


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
login_manager = LoginManager()
