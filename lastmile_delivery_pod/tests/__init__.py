from . import test_controllers, test_driver_day, test_images, test_tracking, test_ui
