"""19.0.1.2.0: deliveries closed before the tracking page existed get the date they closed
(their delivery, else their last change), from which their tracking link expires."""


def migrate(cr, version):
    cr.execute(
        """UPDATE lastmile_delivery_task
              SET date_closed = COALESCE(date_delivered, write_date)
            WHERE state IN ('delivered', 'failed', 'cancelled') AND date_closed IS NULL"""
    )
