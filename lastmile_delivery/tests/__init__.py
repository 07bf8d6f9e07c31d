from . import (
    test_access,
    test_carrier,
    test_delivery_task,
    test_dispatch,
    test_dispatch_service,
    test_geocoding,
    test_geocoding_service,
    test_matrix_service,
    test_route,
    test_routing_service,
    test_security,
    test_ui,
)
