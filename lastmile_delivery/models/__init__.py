from . import lastmile_driver
