from odoo import fields, models


class StockReturnPicking(models.TransientModel):
    """The return wizard carries the key of the retailflow step that opened it and gives it to
    the return picking it creates, in the same transaction: a second return for one key then
    violates stock.picking's unique(x_rf_key) instead of making a second return."""

    _inherit = "stock.return.picking"

    x_rf_key = fields.Char(string="Integration reference", copy=False)

    def _prepare_picking_default_values(self):
        values = super()._prepare_picking_default_values()
        if self.x_rf_key:
            values["x_rf_key"] = self.x_rf_key
        return values
