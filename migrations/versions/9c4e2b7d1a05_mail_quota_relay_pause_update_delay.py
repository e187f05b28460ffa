"""mail quota and relay pause; mail to one person first; meeting updates after a delay

Revision ID: 9c4e2b7d1a05
Revises: 5d1f0c7a9e21
Create Date: 2026-12-07 03:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c4e2b7d1a05'
down_revision = '5d1f0c7a9e21'
branch_labels = None
depends_on = None

PERSONAL = sa.text("status = 'queued' AND NOT list_mail")


def upgrade():
    op.drop_table('mail_budget')
    op.create_table(
        'relay_pause',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('strikes', sa.Integer(), nullable=False),
        sa.Column('answer', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_relay_pause')))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_queued_personal', ['id'], unique=False,
                              postgresql_where=PERSONAL, sqlite_where=PERSONAL)
        batch_op.create_index('ix_outbox_sent_at', ['sent_at'], unique=False)
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('update_due_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('update_due_at')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_sent_at')
        batch_op.drop_index('ix_outbox_queued_personal')
    op.drop_table('relay_pause')
    op.create_table(
        'mail_budget',
        sa.Column('minute', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('used', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('minute', name=op.f('pk_mail_budget')))
