"""rate limits counted in the database, shared by every process

Revision ID: 3e8a1f6b2c47
Revises: 9c4e2b7d1a05
Create Date: 2026-12-07 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e8a1f6b2c47'
down_revision = '9c4e2b7d1a05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rate_limit',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('hits', sa.JSON(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit')))
    with op.batch_alter_table('rate_limit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('rate_limit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_expires_at'))
    op.drop_table('rate_limit')
