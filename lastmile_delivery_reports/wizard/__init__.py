from . import lastmile_daily_report_wizard
