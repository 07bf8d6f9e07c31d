from . import (
    delivery_carrier,
    lastmile_delivery_task,
    lastmile_dispatch_rule,
    lastmile_driver,
    lastmile_driver_tag,
    lastmile_route,
    lastmile_route_planning,
    res_company,
    res_config_settings,
    res_partner,
    sale_order,
    stock_picking,
)
