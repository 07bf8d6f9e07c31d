from . import lastmile_route
