# Part of retailflow. Installed in the Odoo database that the `odoo` connector writes to.
{
    "name": "retailflow idempotency keys",
    "version": "17.0.1.0.0",
    "summary": "A unique retailflow idempotency key (x_rf_key) on the records retailflow creates",
    "description": """
The retailflow `odoo` connector writes each step's idempotency key into x_rf_key on every record
it creates (credit notes, pickings and their returns, sale orders). This module declares that
field with an SQL unique constraint, so a second create for the same key is refused by
PostgreSQL, atomically, even when the first create is still being processed by another worker:
the connector then continues from the record that holds the key. Without it, the connector must
run in its weaker "search_after_deadline" mode (see retailflow's docs/connectors.md).

Purchase orders are covered by retailflow_idempotency_purchase, installed automatically with the
Purchase app.
""",
    "category": "Technical",
    "author": "retailflow",
    "license": "LGPL-3",
    "depends": ["account", "stock", "sale"],
    "data": [],
    "installable": True,
    "application": False,
}
