"""Plain-Python services of Last Mile Delivery: no ORM, no ``env``; data in, data out.

Models translate records into these inputs and write the results back (see
``../../shared/notes/architecture.md`` in the project's workspace and the README).

A text a service gives for people (why a delivery was not dispatched or planned, why there is
no plan) is an English template marked with ``_lt`` and its ``%(name)s`` values apart; Odoo's
extraction puts it in the module's ``.pot`` and the model shows it with ``env._``, in the
reader's language.
"""
