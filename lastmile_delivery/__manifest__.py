{
    "name": "Last Mile Delivery",
    "summary": "Own-fleet delivery: tasks, drivers, automatic dispatch, routing and tracking",
    "version": "19.0.1.0.0",
    "category": "Inventory/Delivery",
    "author": "Last Mile Delivery contributors",
    "website": "https://github.com/lastmile-delivery/lastmile-delivery",
    "license": "LGPL-3",
    "depends": [
        "mail",
        "portal",
        "resource",
        "sale_stock",
        "stock_delivery",
        "base_geolocalize",
    ],
    "data": [
        "security/lastmile_security.xml",
        "security/ir.model.access.csv",
        "views/lastmile_driver_views.xml",
        "views/lastmile_menus.xml",
    ],
    "demo": [],
    "assets": {
        "web.assets_tests": [
            "lastmile_delivery/static/tests/tours/**/*",
        ],
    },
    "application": True,
    "installable": True,
}
