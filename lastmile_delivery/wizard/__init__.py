from . import choose_delivery_carrier
