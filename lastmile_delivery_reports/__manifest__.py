{
    "name": "Last Mile Delivery: Reporting",
    "summary": "On-time rate, delivery times, productivity and optimization savings in Odoo's reports",
    "version": "19.0.1.0.0",
    "category": "Inventory/Delivery",
    "author": "Last Mile Delivery contributors",
    "website": "https://github.com/lastmile-delivery/lastmile-delivery",
    "license": "LGPL-3",
    "depends": ["lastmile_delivery_pod", "spreadsheet_dashboard"],
    # the demo's history is made at the time it happened (freezegun is one of Odoo's requirements)
    "external_dependencies": {"python": ["freezegun"]},
    "data": [
        "security/ir.model.access.csv",
        "security/lastmile_reports_security.xml",
        "report/lastmile_delivery_report_views.xml",
        "report/lastmile_route_report_views.xml",
        "report/lastmile_daily_report.xml",
        "wizard/lastmile_daily_report_wizard_views.xml",
        "data/spreadsheet_dashboard_data.xml",
        "views/lastmile_reports_menus.xml",
    ],
    "demo": ["demo/lastmile_reports_demo.xml"],
    "assets": {
        "web.assets_tests": [
            "lastmile_delivery_reports/static/tests/tours/**/*",
        ],
    },
    "installable": True,
}
