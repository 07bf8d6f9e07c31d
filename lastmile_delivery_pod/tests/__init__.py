from . import test_driver_day, test_images, test_ui
