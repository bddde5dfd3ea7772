from odoo import fields, models


class RetailflowIdempotencyMixin(models.AbstractModel):
    """The idempotency key of the retailflow step that created the record.

    Contract relied on by retailflow's `odoo` connector: on every model inheriting this mixin, at
    most one record carries a given non-empty x_rf_key (empty keys, NULL in the database, never
    collide). A create or write that would give a second record the same key fails as a whole
    with a ValidationError ("The operation cannot be completed: <message below>"); the connector
    then reads the record that holds the key. The key is not copied (copy=False), so duplicating
    a record, or the return wizard copying a picking, never collides by accident.
    """

    _name = "retailflow.idempotency.mixin"
    _description = "retailflow idempotency key"

    x_rf_key = fields.Char(
        string="Integration reference",
        index=True,
        copy=False,
        readonly=True,
        help="Idempotency key of the retailflow workflow step that created this record.",
    )

    # The message is matched by nothing: the connector recognises a violation by reading the
    # record that holds the key. Keep it in step with examples/sim/odoo_retail.py.
    _sql_constraints = [
        (
            "x_rf_key_unique",
            "unique(x_rf_key)",
            "This retailflow idempotency key (x_rf_key) is already used by another record of "
            "this model.",
        ),
    ]
