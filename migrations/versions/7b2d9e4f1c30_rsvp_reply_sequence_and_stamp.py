"""a calendar reply's SEQUENCE and DTSTAMP kept with the answer, to tell a stale one

Revision ID: 7b2d9e4f1c30
Revises: 3e8a1f6b2c47
Create Date: 2026-12-07 06:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b2d9e4f1c30'
down_revision = '3e8a1f6b2c47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_sequence', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reply_stamp', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.drop_column('reply_stamp')
        batch_op.drop_column('reply_sequence')
