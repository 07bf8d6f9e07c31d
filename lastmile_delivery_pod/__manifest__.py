{
    "name": "Last Mile Delivery: Proof of Delivery",
    "summary": "Driver mobile view: stops of the day, photo and signature proof of delivery",
    "version": "19.0.1.0.0",
    "category": "Inventory/Delivery",
    "author": "Last Mile Delivery contributors",
    "website": "https://github.com/lastmile-delivery/lastmile-delivery",
    "license": "LGPL-3",
    "depends": ["lastmile_delivery"],
    "data": [],
    "installable": True,
}
