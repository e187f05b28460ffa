"""The models and the migrations never drift apart, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db


def test_migrations_match_models(app):
    with app.app_context():
        context = MigrationContext.configure(db.session.connection(),
                                             opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_and_upgrade_again(database_url, tmp_path, smtp_server):
    """Every migration can be undone: the chain runs down to base and up again."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from tests.conftest import base_config

    app = create_app(base_config(database_url, smtp_server.port, tmp_path))
    with app.app_context():
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()
