"""Plain-Python services of Last Mile Delivery: no ORM, no ``env``; data in, data out.

Models translate records into these inputs and write the results back (see
``../../shared/notes/architecture.md`` in the project's workspace and the README).
"""
