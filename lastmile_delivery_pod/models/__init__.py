from . import (
    delivery_carrier,
    lastmile_delivery_proof,
    lastmile_delivery_task,
    lastmile_driver,
    lastmile_driver_position,
    lastmile_failure_reason,
    lastmile_route,
    res_company,
    res_config_settings,
    res_partner,
    sale_order,
    stock_picking,
)
