"""outbox indexes by state: queued and sending rows each in a partial index; no kind index

Revision ID: 5d1f0c7a9e21
Revises: b3a0bb41cd87
Create Date: 2026-12-06 17:10:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '5d1f0c7a9e21'
down_revision = 'b3a0bb41cd87'
branch_labels = None
depends_on = None


def _by_state(state):
    where = sa.text(f"status = '{state}'")
    return {"postgresql_where": where, "sqlite_where": where}


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_claim')
        batch_op.drop_index('ix_outbox_kind')
        batch_op.create_index('ix_outbox_queued', ['id'], unique=False, **_by_state('queued'))
        batch_op.create_index('ix_outbox_sending', ['id'], unique=False, **_by_state('sending'))


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_sending')
        batch_op.drop_index('ix_outbox_queued')
        batch_op.create_index('ix_outbox_kind', ['kind'], unique=False)
        batch_op.create_index('ix_outbox_claim', ['status', 'id'], unique=False)
