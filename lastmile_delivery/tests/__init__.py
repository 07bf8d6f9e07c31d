from . import test_security, test_ui
