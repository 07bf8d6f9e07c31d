from . import controllers, models, wizard


def _post_init_hook(env):
    """Drivers there already open My Route when they log in."""
    env["lastmile.driver"].with_context(active_test=False).search([])._lastmile_set_home_action()
