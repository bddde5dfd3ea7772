# Part of retailflow: the purchase.order half of retailflow_idempotency, installed automatically
# when both that module and the Purchase app are installed (a bridge module).
{
    "name": "retailflow idempotency keys: purchase orders",
    "version": "17.0.1.0.0",
    "summary": "A unique retailflow idempotency key (x_rf_key) on purchase orders",
    "category": "Technical",
    "author": "retailflow",
    "license": "LGPL-3",
    "depends": ["retailflow_idempotency", "purchase"],
    "data": [],
    "installable": True,
    "auto_install": True,
    "application": False,
}
