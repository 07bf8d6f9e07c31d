{
    "name": "Last Mile Delivery: Reporting",
    "summary": "On-time rate, delivery times and driver productivity in Odoo's report views",
    "version": "19.0.1.0.0",
    "category": "Inventory/Delivery",
    "author": "Last Mile Delivery contributors",
    "website": "https://github.com/lastmile-delivery/lastmile-delivery",
    "license": "LGPL-3",
    "depends": ["lastmile_delivery"],
    "data": [],
    "installable": True,
}
