from . import test_measures, test_ui
