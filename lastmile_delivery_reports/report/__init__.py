from . import lastmile_daily_report, lastmile_delivery_report, lastmile_route_report
