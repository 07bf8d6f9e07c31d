"""The customer's side of a delivery: its tracking page (a link with a token, no account
needed), delivery instructions before departure and a rating afterwards.

The controllers check the token or the portal user's rights, then call these methods on the
record in superuser mode; the methods check what the customer sent.
"""

import json
import uuid
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

INSTRUCTIONS_MAX = 500
COMMENT_MAX = 1000
# what the customer wrote (page and SMS replies), kept for the driver: the latest part
CUSTOMER_MESSAGE_MAX = 2000
# a driver's position older than this is not shown: the phone stopped sending
POSITION_FRESH = timedelta(minutes=30)
# where the customer may still change what the driver reads
INSTRUCTION_STATES = ("new", "assigned")
CLOSED_STATES = ("delivered", "failed", "cancelled")
# how the timeline writes its moments
STEP_TIME = "EEE d MMM HH:mm"


class LastmileDeliveryTask(models.Model):
    _inherit = "lastmile.delivery.task"

    tracking_url = fields.Char(string="Tracking Link", compute="_compute_tracking_url")
    customer_message = fields.Text(
        string="Customer's Messages",
        readonly=True,
        help="What the customer wrote on the tracking page or answered by SMS: the driver reads it with "
        "the instructions.",
    )
    rating_label = fields.Char(
        string="Customer Rating", compute="_compute_rating_label", groups="base.group_user"
    )
    date_closed = fields.Datetime(
        string="Closed On",
        readonly=True,
        copy=False,
        help="When the delivery was delivered, failed or cancelled: its tracking link expires some days "
        "after.",
    )

    def _compute_access_url(self):
        super()._compute_access_url()
        for task in self:
            task.access_url = f"/my/deliveries/{task.id}"

    @api.depends("rating_last_value")
    def _compute_rating_label(self):
        for task in self:
            stars = round(task.rating_last_value)
            task.rating_label = stars and f"{'★' * stars}{'☆' * (5 - stars)} {stars}/5"

    def _compute_tracking_url(self):
        for task in self:
            task.tracking_url = task.id and task.get_base_url() + task.sudo().get_portal_url()

    @api.model
    def _lastmile_workflow_fields(self):
        # the customer's words and the closing date: only the customer's page, their SMS and
        # the workflow write them
        return super()._lastmile_workflow_fields() | {"date_closed", "customer_message"}

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:  # the tracking link exists from the start: reading never writes
            vals.setdefault("access_token", str(uuid.uuid4()))
        return super().create(vals_list)

    # ------------------------------------------------------------------ Odoo's own portal routes

    @api.model
    def _get_thread_with_access(self, thread_id, *, hash=None, pid=None, token=None, **kwargs):
        """The tracking link's token opens the tracking page only (which checks what it
        accepts), not Odoo's chatter and rating routes: those need the record's rights."""
        return super()._get_thread_with_access(thread_id, **kwargs)

    def _get_allowed_message_params(self):
        """A rating comes from the tracking page only, once, after delivery."""
        return super()._get_allowed_message_params() - {"rating_value"}

    def _set_state(self, state, check=True, **values):
        values.setdefault("date_closed", fields.Datetime.now() if state in CLOSED_STATES else False)
        return super()._set_state(state, check=check, **values)

    # ------------------------------------------------------------------ rating

    def _rating_get_operator(self):
        return self.sudo().driver_id.user_id.partner_id

    def _rating_get_partner(self):
        return self.partner_id

    # ------------------------------------------------------------------ what the page shows

    def _lastmile_tracking_expired(self):
        """The link works until some days (a setting) after the delivery closed."""
        self.ensure_one()
        days = self.company_id.lastmile_tracking_days or 7
        return bool(
            self.state in CLOSED_STATES
            and self.date_closed
            and self.date_closed + timedelta(days=days) < fields.Datetime.now()
        )

    def _lastmile_round_progress(self):
        """(stops of the round still before this one, when the last other stop of the round
        closed), in one query."""
        self.ensure_one()
        if not (self.route_id and self.sequence and self.state in ("assigned", "in_transit")):
            return 0, None
        self.flush_model(["route_id", "sequence", "state", "date_closed"])
        self.env.cr.execute(
            SQL(
                """SELECT COUNT(DISTINCT sequence) FILTER (
                              WHERE state IN ('assigned', 'in_transit') AND sequence > 0 AND sequence < %s),
                          MAX(date_closed)
                     FROM lastmile_delivery_task
                    WHERE route_id = %s AND id != %s""",
                self.sequence,
                self.route_id.id,
                self.id,
            )
        )
        return self.env.cr.fetchone()

    def _lastmile_shows_driver(self, stops_before):
        """The driver's position is shown only while they drive to this customer: none before
        (it would show the other customers' doors), none after delivery, none for a delivery
        on the way outside a planned round."""
        return bool(
            self.state == "in_transit"
            and self.route_id.state == "in_progress"
            and self.sequence > 0
            and stops_before == 0
        )

    def _lastmile_fresh_position(self, driver, last_closed):
        """Whether the driver's position was sent after the stop before was closed (not the
        previous customer's door) and within the last minutes (not a phone that stopped)."""
        if not driver.last_seen or not (driver.current_latitude or driver.current_longitude):
            return False
        if driver.last_seen < fields.Datetime.now() - POSITION_FRESH:
            return False
        return not last_closed or driver.last_seen > last_closed

    def _prepare_tracking_live(self):
        """What the tracking page refreshes every few seconds (JSON): no more than the customer
        may know, read with a constant number of queries."""
        self.ensure_one()
        task = self.sudo()
        stops_before, last_closed = task._lastmile_round_progress()
        driver = task.driver_id
        position = None
        if task._lastmile_shows_driver(stops_before) and task._lastmile_fresh_position(driver, last_closed):
            position = {
                "lat": driver.current_latitude,
                "lng": driver.current_longitude,
                "at": task.company_id._lastmile_format(driver.last_seen),
            }
        return {
            "state": task.state,
            "state_label": dict(task._fields["state"]._description_selection(self.env))[task.state],
            "steps": task._prepare_tracking_steps(stops_before),
            "stops_label": task._lastmile_stops_label(stops_before),
            "eta_label": task.eta_window_label or "",
            "stops_before": stops_before,
            "driver": position,
            "destination": {"lat": task.latitude, "lng": task.longitude}
            if task.address_state == "ok"
            else None,
            "closed": task.state in CLOSED_STATES,
        }

    def _lastmile_out_for_delivery_at(self):
        """When the delivery left with its driver, if known (the phone's route start knows)."""
        return False

    def _prepare_tracking_steps(self, stops_before=None):
        """The status timeline: confirmed, out for delivery, on the way to you, delivered (or
        not delivered)."""
        self.ensure_one()
        company, state = self.company_id, self.state

        def step(key, label, done, moment=False):
            return {
                "key": key,
                "label": label,
                "done": done,
                "when": company._lastmile_format(moment, STEP_TIME),
            }

        steps = [
            step(
                "confirmed",
                self.env._("Order confirmed"),
                True,
                self.sudo().sale_order_id.date_order or self.create_date,
            ),
            step(
                "dispatched",
                self.env._("Out for delivery"),
                state in ("in_transit", "delivered", "failed"),
                state != "new" and self._lastmile_out_for_delivery_at(),
            ),
        ]
        if state == "in_transit":
            steps.append(step("coming", self.env._("On the way to you"), stops_before == 0))
        if state == "failed":
            steps.append(step("failed", self.env._("Not delivered"), True, self.date_closed))
        elif state == "cancelled":
            steps.append(step("cancelled", self.env._("Cancelled"), True, self.date_closed))
        else:
            delivered = state == "delivered"
            steps.append(
                step("delivered", self.env._("Delivered"), delivered, delivered and self.date_delivered)
            )
        return steps

    def _lastmile_stops_label(self, stops_before):
        if self.state != "in_transit":
            return ""
        if stops_before == 0:
            return self.env._("The driver is on the way to you")
        if stops_before == 1:
            return self.env._("1 stop before yours")
        return self.env._("%(count)s stops before yours", count=stops_before)

    def _prepare_tracking_values(self):
        """Everything the tracking page shows (the live part included)."""
        self.ensure_one()
        task = self.sudo()
        live = task._prepare_tracking_live()
        rating = task.rating_ids.filtered(lambda r: r.consumed)[:1]
        tiles = self.env["res.company"]._lastmile_map_tiles()
        return {
            "task": task,
            "live": live,
            "live_json": json.dumps(live),
            "tiles_json": json.dumps(tiles),
            "driver_name": task.driver_first_name if task.state in ("assigned", "in_transit") else False,
            "vehicle": task.driver_id.vehicle_name if task.state in ("assigned", "in_transit") else False,
            "can_edit_instructions": task.state in INSTRUCTION_STATES,
            "can_rate": task.state == "delivered" and not rating,
            "rating": rating,
            "instructions_max": INSTRUCTIONS_MAX,
            "comment_max": COMMENT_MAX,
        }

    # ------------------------------------------------------------------ what the customer sends

    def _lastmile_portal_set_instructions(self, text):
        """The customer's delivery instructions (gate code, where to leave it), until the
        driver leaves: the driver reads them on the phone."""
        self.ensure_one()
        text = (text or "").strip()
        if self.state in CLOSED_STATES:
            raise UserError(self.env._("This delivery is over: its instructions cannot change any more."))
        if self.state not in INSTRUCTION_STATES:
            raise UserError(
                self.env._("Your delivery is already on its way: call us to change its instructions.")
            )
        if len(text) > INSTRUCTIONS_MAX:
            raise ValidationError(
                self.env._("Instructions are limited to %(max)s characters.", max=INSTRUCTIONS_MAX)
            )
        self.sudo().customer_message = text[-CUSTOMER_MESSAGE_MAX:] or False
        self.sudo().message_post(
            body=Markup("%s<br/>%s") % (self.env._("Delivery instructions from the customer:"), text or "-"),
            author_id=self.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )

    def _lastmile_portal_rate(self, value, comment):
        """The customer's rating (1 to 5 stars) of a delivered delivery, once. A low one gives
        the delivery manager an activity."""
        self.ensure_one()
        task = self.sudo()
        if task.state != "delivered":
            raise UserError(self.env._("You can rate your delivery once it is delivered."))
        if task.rating_ids.filtered(lambda r: r.consumed):
            raise UserError(self.env._("You have already rated this delivery. Thank you!"))
        if value not in (1, 2, 3, 4, 5):
            raise ValidationError(self.env._("Choose from 1 to 5 stars."))
        comment = (comment or "").strip()
        if len(comment) > COMMENT_MAX:
            raise ValidationError(self.env._("Comments are limited to %(max)s characters.", max=COMMENT_MAX))
        token = task._rating_get_access_token()
        task.rating_apply(value, token=token, feedback=comment, subtype_xmlid="mail.mt_note")
        if value <= task.company_id.lastmile_rating_alert:
            manager = task.company_id._lastmile_delivery_manager()
            if manager:
                task.activity_schedule(
                    "mail.mail_activity_data_todo",
                    summary=self.env._("Low rating: %(stars)s/5", stars=value),
                    note=comment or self.env._("No comment."),
                    user_id=manager.id,
                )
