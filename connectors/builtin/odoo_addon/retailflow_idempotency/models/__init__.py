from . import idempotency_mixin
from . import account_move
from . import stock_picking
from . import stock_return_picking
from . import sale_order
