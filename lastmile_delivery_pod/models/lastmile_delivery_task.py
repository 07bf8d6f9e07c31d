import base64
import math
import re
from datetime import UTC, datetime, timedelta

from odoo import api, fields, models
from odoo.addons.lastmile_delivery.services.geo import has_coordinates
from odoo.addons.lastmile_delivery.tools import trusted
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, format_date

from ..services import images

PROOF_REQUIREMENTS = [
    ("none", "No proof"),
    ("photo", "Photo"),
    ("signature", "Signature"),
    ("either", "Photo or signature"),
    ("both", "Photo and signature"),
]
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_PHOTOS = 5
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}  # what services.images stores
MAX_TEXT = {"recipient_name": 128, "note": 2000}
# a phone's clock may run a little ahead; a capture kept offline is sent within days
CLOCK_SKEW = timedelta(minutes=10)
OFFLINE_AGE = timedelta(days=7)


class LastmileDeliveryTask(models.Model):
    _inherit = "lastmile.delivery.task"

    proof_ids = fields.Many2many(
        "lastmile.delivery.proof",
        "lastmile_delivery_proof_task_rel",
        "task_id",
        "proof_id",
        string="Proofs",
        readonly=True,
        copy=False,
    )
    proof_id = fields.Many2one(
        "lastmile.delivery.proof", string="Proof", compute="_compute_proof_id", help="The proof in force."
    )
    proof_required = fields.Selection(
        PROOF_REQUIREMENTS,
        compute="_compute_proof_required",
        help="What the driver must capture to deliver: the customer's rule, else the delivery method's.",
    )
    failure_reason_id = fields.Many2one(
        "lastmile.failure.reason",
        string="Failure Reason",
        readonly=True,
        copy=False,
        tracking=True,
        ondelete="restrict",  # archive a reason that was used
    )
    attempt = fields.Integer(
        default=1, readonly=True, copy=False, help="1 for the first try, 2 for the second…"
    )
    previous_attempt_id = fields.Many2one(
        "lastmile.delivery.task", string="Previous Attempt", readonly=True, copy=False, index="btree_not_null"
    )
    next_attempt_ids = fields.One2many("lastmile.delivery.task", "previous_attempt_id", string="Next Attempt")
    date_arrived = fields.Datetime(string="Arrived", readonly=True, copy=False)
    eta_planned = fields.Datetime(
        string="Planned ETA",
        readonly=True,
        copy=False,
        help="The ETA when the route started, before live updates.",
    )
    driven_sequence = fields.Integer(
        string="Done as Stop",
        readonly=True,
        copy=False,
        help="Position in the order the driver actually drove.",
    )
    stock_pending = fields.Selection(
        [("validate", "Delivery order to validate"), ("return", "Delivery order to cancel")],
        string="Warehouse Update",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="What the driver's report asks of the warehouse, done by a scheduled action seconds "
        "after the report (the driver does not wait for the stock).",
    )

    def _lastmile_out_for_delivery_at(self):
        return self.sudo().route_id.date_started or super()._lastmile_out_for_delivery_at()

    def _lastmile_next_attempt(self):
        """The attempt that follows this failed delivery, if it goes out again (in superuser
        mode: it may be another driver's)."""
        self.ensure_one()
        return self.sudo().next_attempt_ids.filtered(lambda t: t.state != "cancelled")[-1:]

    @api.depends("state", "failure_reason_id", "next_attempt_ids.scheduled_date")
    def _compute_failure_label(self):
        """The driver's reason, and what it leads to: the next attempt's day, or the goods back."""
        super()._compute_failure_label()
        for task in self.filtered(lambda t: t.state == "failed" and t.failure_reason_id):
            task.failure_label = task.failure_reason_id.name
            attempt = task._lastmile_next_attempt()
            if attempt:
                task.next_step_label = self.env._(
                    "We will try again on %(day)s.", day=attempt.delivery_day_label
                )
            elif task.failure_reason_id.outcome == "return":
                task.next_step_label = self.env._(
                    "Your order goes back to our warehouse: we will contact you about a new delivery or a "
                    "refund."
                )

    @api.depends("proof_ids.active")
    def _compute_proof_id(self):
        for task in self:
            task.proof_id = task.proof_ids.filtered("active").sorted("id")[-1:]

    @api.depends(
        "partner_shipping_id.lastmile_proof_required",
        "partner_id.lastmile_proof_required",
        "picking_id.carrier_id.lastmile_proof_required",
        "sale_order_id.carrier_id.lastmile_proof_required",
        "company_id.lastmile_pod_default_proof",
    )
    def _compute_proof_required(self):
        for task in self:
            # the delivery method as the warehouse set it, for a driver too (no stock rights)
            carrier = task.sudo().picking_id.carrier_id or task.sudo().sale_order_id.carrier_id
            task.proof_required = (
                task.partner_shipping_id.lastmile_proof_required
                or task.partner_id.lastmile_proof_required
                or carrier.lastmile_proof_required
                or task.company_id.lastmile_pod_default_proof
                or "either"
            )

    @api.model
    def _lastmile_workflow_fields(self):
        return super()._lastmile_workflow_fields() | {
            "failure_reason_id",
            "attempt",
            "previous_attempt_id",
            "date_arrived",
            "eta_planned",
            "driven_sequence",
        }

    def _lastmile_follows_picking(self):
        """A failure with a reason is decided (a new attempt, or the goods back in stock): it
        keeps its record and no longer follows the delivery order."""
        return super()._lastmile_follows_picking() and not (self.state == "failed" and self.failure_reason_id)

    # ------------------------------------------------------------------ the driver's buttons

    def _check_own_driver(self):
        """Only the delivery's own driver captures at the door."""
        self.check_access("read")
        foreign = self.filtered(lambda t: not t.driver_id.user_id or t.driver_id.user_id != self.env.user)
        if foreign:
            raise AccessError(
                self.env._(
                    "Only the driver of %(tasks)s can report it from the door.",
                    tasks=", ".join(foreign.mapped("display_name")),
                )
            )

    def _check_one_stop(self):
        """These deliveries are one stop of one route: one door, one driver."""
        if not self:
            raise UserError(self.env._("No delivery was given."))
        if len({(t.route_id, t.driver_id, t._lastmile_stop_key()) for t in self}) > 1:
            raise UserError(
                self.env._(
                    "%(tasks)s are not one stop: report each address on its own.",
                    tasks=", ".join(self.mapped("display_name")),
                )
            )

    def action_arrive(self):
        """The driver is at the door (the time is kept to measure ETAs against arrivals)."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self._check_own_driver()
        self._check_one_stop()
        not_started = self.filtered(lambda t: t.state != "in_transit")
        if not_started:
            raise UserError(
                self.env._(
                    "%(tasks)s is not on the way: start your route first.",
                    tasks=", ".join(not_started.mapped("display_name")),
                )
            )
        self.filtered(lambda t: not t.date_arrived).sudo().date_arrived = fields.Datetime.now()
        return True

    def action_fail(self):
        """Drivers report a failed stop from My Route, with its reason, its photo and what
        follows from it (a new attempt, or the goods back), unless the shop asks no proof of
        these deliveries; the back office's Failed is the dispatcher's."""
        if not self._is_dispatcher() and self.filtered(lambda t: t.proof_required != "none"):
            raise UserError(self.env._("Report the failed stop from My Route, with its reason."))
        return super().action_fail()

    def action_deliver(self):
        """From the back office, a dispatcher may mark delivered without proof (a phone lost, a
        delivery reported by phone call). Drivers deliver from their stop screen, with the proof
        their customer requires."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self._check_driver_or_dispatcher()
        if not self._is_dispatcher():
            missing = self.filtered(lambda t: t.proof_required != "none" and not t.proof_id)
            if missing:
                raise UserError(
                    self.env._(
                        "%(tasks)s needs a proof of delivery: deliver it from the stop screen of My Route.",
                        tasks=", ".join(missing.mapped("display_name")),
                    )
                )
        return super().action_deliver()

    def action_reset(self):
        decided = self.filtered(lambda t: t.failure_reason_id)
        if decided:
            raise UserError(
                self.env._(
                    "%(tasks)s failed for a reason that already decided what happens next (a new attempt "
                    "or a return). Reopen it to change that.",
                    tasks=", ".join(decided.mapped("display_name")),
                )
            )
        return super().action_reset()

    def _lastmile_delivery_moves(self):
        """The moves of these deliveries' orders, cancelled ones left out (read for drivers, who
        have no stock rights)."""
        return self.sudo().picking_id.move_ids.filtered(lambda m: m.state != "cancel")

    def _prepare_driver_lines(self):
        """What the driver hands over: product, quantity, unit (and the move to report a
        partial delivery against)."""
        self.ensure_one()
        moves = self._lastmile_delivery_moves()
        return [
            {
                "move_id": move.id,
                "product": move.product_id.display_name,
                "quantity": move.quantity if move.state == "done" else move.product_uom_qty,
                "uom": move.product_uom.name,
            }
            for move in moves
        ]

    # ------------------------------------------------------------------ proof from the phone

    def action_submit_proof(self, values):
        """The phone reports the stop of these deliveries, delivered or failed, with its proof.

        ``values``: ``key`` (made by the phone for this capture), ``kind`` (``delivered`` or
        ``failed``), ``captured_at`` (ISO 8601 or milliseconds since 1970, UTC), ``latitude``,
        ``longitude``, ``accuracy`` (metres; all three optional), ``recipient_name``, ``note``,
        ``photos`` (base64 JPEG/PNG/WebP pictures), ``signature`` (base64 picture),
        ``failure_reason_id`` (failed), ``quantities`` (delivered, optional:
        ``{move id: quantity delivered}``, everything by default).

        A capture already received (same driver and key) is not stored twice: the answer is the
        one of the first time. Returns ``{"proof_id", "state", "duplicate", "next_attempt"}``.
        """
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        if not self:
            raise UserError(self.env._("Name the deliveries of the stop."))
        self._check_own_driver()
        if not isinstance(values, dict):
            raise ValidationError(self.env._("The proof could not be read."))
        key = values.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ValidationError(self.env._("The capture has no valid key: update the app and try again."))
        driver = self.driver_id[:1]
        # the stop's rows first: a second submission of the same capture waits for the first
        self.env.cr.execute(
            SQL(
                "SELECT id FROM lastmile_delivery_task WHERE id IN %s ORDER BY id FOR UPDATE", tuple(self.ids)
            )
        )
        Proof = self.env["lastmile.delivery.proof"].sudo().with_context(active_test=False)
        existing = Proof.search([("driver_id", "=", driver.id), ("key", "=", key)], limit=1)
        if existing:
            if set(existing.task_ids.ids) != set(self.ids):
                raise ValidationError(self.env._("This capture was already sent for another stop."))
            return self._lastmile_proof_answer(existing, duplicate=True)
        self._check_one_stop()
        proof_values = self._prepare_proof_values(values, driver)
        if proof_values["kind"] == "delivered":
            quantities = self._prepare_delivered_quantities(values.get("quantities"))
        else:
            quantities = None
        photos = proof_values.pop("photos")
        proof = Proof.create(proof_values)
        # each photo on every delivery of the stop (the file store keeps one copy of the bytes)
        proof.photo_ids = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                [
                    {
                        "name": f"{task.name.replace('/', '-')}-photo-{number}.{EXTENSIONS[mimetype]}",
                        "raw": data,
                        "mimetype": mimetype,
                        "res_model": self._name,
                        "res_id": task.id,
                    }
                    for number, (data, mimetype) in enumerate(photos, 1)
                    for task in self
                ]
            )
        )
        driven = self._lastmile_driven_sequence()
        if proof.kind == "delivered":
            self._lastmile_deliver_with_proof(proof, quantities, driven)
        else:
            self._lastmile_fail_with_proof(proof, driven)
        # the route's last stop: what was driven is final (its phone sends no more positions)
        self.sudo().route_id.filtered(lambda r: r.state == "done")._lastmile_update_driven_distance()
        return self._lastmile_proof_answer(proof)

    def _lastmile_proof_answer(self, proof, duplicate=False):
        next_attempt = self.next_attempt_ids.sudo()[:1]
        return {
            "proof_id": proof.id,
            "state": self[:1].state,
            "duplicate": duplicate,
            "next_attempt": next_attempt.name or False,
        }

    def _prepare_proof_values(self, values, driver):
        """Check everything the phone sent and return the proof's values, pictures processed
        (``photos``: ``[(bytes, mimetype)]``). Refuses with a message the driver understands."""
        kind = values.get("kind")
        if kind not in ("delivered", "failed"):
            raise ValidationError(self.env._("Say whether the stop is delivered or failed."))
        if self.filtered(lambda t: t.state == "assigned"):
            raise UserError(self.env._("Start your route first: the deliveries are not on the way yet."))
        # on the way; or delivered meanwhile by the warehouse (its delivery order validated),
        # which the driver's proof completes
        open_ = self.filtered(
            lambda t: (
                t.state == "in_transit" or (kind == "delivered" and t.state == "delivered" and not t.proof_id)
            )
        )
        if kind == "failed" and self.sudo().picking_id.filtered(lambda p: p.state == "done"):
            raise UserError(
                self.env._(
                    "The goods of this stop left the stock (its delivery order is validated): report it "
                    "delivered, or ask the warehouse for a return."
                )
            )
        if open_ != self:
            raise UserError(
                self.env._(
                    "%(tasks)s is already %(state)s: a completed stop cannot be reported again.",
                    tasks=", ".join((self - open_).mapped("display_name")),
                    state=", ".join(
                        dict(self._fields["state"]._description_selection(self.env))[s]
                        for s in set((self - open_).mapped("state"))
                    ),
                )
            )
        company = self.company_id[:1]
        max_bytes = int((company.lastmile_pod_max_image_mb or 10) * 1024 * 1024)
        raw_photos = values.get("photos") or []
        if not isinstance(raw_photos, list) or len(raw_photos) > MAX_PHOTOS:
            raise ValidationError(self.env._("Send at most %(count)s photos per stop.", count=MAX_PHOTOS))
        photos = [
            self._lastmile_process_image(data, max_bytes, "JPEG", self.env._("Photo %(n)s", n=n))[:2]
            for n, data in enumerate(raw_photos, 1)
        ]
        signature = values.get("signature") or False
        if signature:
            data, _mimetype, _size = self._lastmile_process_image(
                signature, max_bytes, "PNG", self.env._("Signature")
            )
            signature = base64.b64encode(data)
        texts = {}
        for name, limit in MAX_TEXT.items():
            text = values.get(name) or ""
            if not isinstance(text, str) or len(text) > limit:
                raise ValidationError(
                    self.env._(
                        "%(field)s is too long (%(limit)s characters at most).",
                        field=self.env["lastmile.delivery.proof"]._fields[name]._description_string(self.env),
                        limit=limit,
                    )
                )
            texts[name] = text.strip() or False
        reason = self.env["lastmile.failure.reason"]
        if kind == "failed":
            reason_id = values.get("failure_reason_id")
            reason = reason.browse(reason_id if isinstance(reason_id, int) else []).exists()
            if (
                not reason
                or not reason.active
                or reason.company_id not in (company, reason.company_id.browse())
            ):
                raise ValidationError(self.env._("Choose why the delivery failed."))
            if reason.photo_required and not photos:
                raise ValidationError(
                    self.env._("“%(reason)s” needs a photo: take one before reporting.", reason=reason.name)
                )
        else:
            self._check_proof_requirement(bool(photos), bool(signature))
        return {
            "kind": kind,
            "key": values["key"],
            "task_ids": [(6, 0, self.ids)],
            "partner_id": self[:1].partner_shipping_id.id,
            "company_id": company.id,
            "driver_id": driver.id,
            "route_id": self.route_id[:1].id,
            "captured_at": self._lastmile_parse_moment(values.get("captured_at")),
            "signature": signature,
            "failure_reason_id": reason.id,
            "photos": photos,
            **texts,
            **self._lastmile_parse_position(values),
        }

    def _check_proof_requirement(self, photo, signature):
        """Refuse a delivery without the proof its customer or delivery method requires."""
        requirements = set(self.mapped("proof_required"))
        missing = []
        if "both" in requirements or ("photo" in requirements and "signature" in requirements):
            if not photo:
                missing.append(self.env._("a photo"))
            if not signature:
                missing.append(self.env._("a signature"))
        elif "photo" in requirements and not photo:
            missing.append(self.env._("a photo"))
        elif "signature" in requirements and not signature:
            missing.append(self.env._("a signature"))
        elif "either" in requirements and not (photo or signature):
            missing.append(self.env._("a photo or a signature"))
        if missing:
            raise ValidationError(
                self.env._(
                    "This delivery needs %(missing)s as proof before it can be delivered.",
                    missing=self.env._(" and ").join(missing),
                )
            )

    def _lastmile_process_image(self, data, max_bytes, output, label):
        try:
            return images.process(images.decode_base64(data, max_bytes), max_bytes, output)
        except images.ImageRejected as error:
            messages = {
                "empty": self.env._("%(what)s is empty.", what=label),
                "too_big": self.env._(
                    "%(what)s is larger than %(limit)s MB.",
                    what=label,
                    limit=f"{error.params.get('limit_mb', 0):.3g}",
                ),
                "encoding": self.env._("%(what)s could not be read: take it again.", what=label),
                "format": self.env._(
                    "%(what)s is not a picture (%(found)s): send a JPEG, PNG or WebP image.",
                    what=label,
                    found=error.params.get("found") or self.env._("unknown type"),
                ),
                "pixels": self.env._("%(what)s has too many pixels.", what=label),
                "damaged": self.env._(
                    "%(what)s is damaged or is not a JPEG, PNG or WebP image: take it again.", what=label
                ),
            }
            raise ValidationError(messages.get(error.code, messages["damaged"])) from error

    @api.model
    def _lastmile_parse_moment(self, value):
        """A time sent by the phone (ISO 8601, or milliseconds since 1970), naive UTC; now
        when the phone sent none. Refused when the phone's clock is obviously wrong."""
        now = fields.Datetime.now()
        if value in (None, False, ""):
            return now
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                moment = datetime.fromtimestamp(value / 1000, tz=UTC).replace(tzinfo=None)
            elif isinstance(value, str):
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
                if moment.tzinfo:
                    moment = moment.astimezone(UTC).replace(tzinfo=None)
            else:
                raise ValueError(value)
        except (ValueError, OverflowError, OSError) as error:
            raise ValidationError(self.env._("The time sent by the phone could not be read.")) from error
        if moment > now + CLOCK_SKEW or moment < now - OFFLINE_AGE:
            raise ValidationError(
                self.env._("The time sent by the phone is wrong: check the date and time of the phone.")
            )
        return min(moment, now)

    @api.model
    def _lastmile_parse_position(self, values, required=False):
        """Latitude, longitude and accuracy as the phone gave them, checked, as the values of
        ``has_position``, ``latitude``, ``longitude`` and ``accuracy``. A proof may come without
        one (the phone may refuse to locate); a ``required`` position must be a real place (not
        the 0, 0 of a phone without a fix). A wrong one is refused."""
        if not isinstance(values, dict):
            raise ValidationError(self.env._("The position of the phone could not be read."))
        lat, lon, accuracy = values.get("latitude"), values.get("longitude"), values.get("accuracy")
        if lat is None and lon is None and not required:
            return {"has_position": False, "latitude": 0.0, "longitude": 0.0, "accuracy": 0.0}
        try:
            lat, lon = float(lat), float(lon)
            accuracy = float(accuracy) if accuracy is not None else 0.0
        except (TypeError, ValueError) as error:
            raise ValidationError(self.env._("The position of the phone could not be read.")) from error
        if not (
            all(math.isfinite(v) for v in (lat, lon, accuracy))
            and -90 <= lat <= 90
            and -180 <= lon <= 180
            and 0 <= accuracy <= 100_000
            and (has_coordinates(lat, lon) or not required)
        ):
            raise ValidationError(self.env._("The position of the phone is not a valid position."))
        return {"has_position": True, "latitude": lat, "longitude": lon, "accuracy": accuracy}

    def _prepare_delivered_quantities(self, quantities):
        """``{stock.move: quantity}`` from what the phone sent (``{move id: quantity}``): only
        moves of these deliveries, between 0 and the quantity ordered, and not all zero."""
        moves = self._lastmile_delivery_moves().filtered(lambda m: m.state != "done")
        if not quantities:
            return {}
        if not isinstance(quantities, dict):
            raise ValidationError(self.env._("The delivered quantities could not be read."))
        by_id = {move.id: move for move in moves}
        result = {}
        for move_id, quantity in quantities.items():
            try:
                move = by_id[int(move_id)]
                quantity = float(quantity)
            except (KeyError, TypeError, ValueError) as error:
                raise ValidationError(
                    self.env._("A delivered quantity is for a product that is not in this delivery.")
                ) from error
            if (
                not math.isfinite(quantity)
                or quantity < 0
                or move.product_uom.compare(quantity, move.product_uom_qty) > 0
            ):
                raise ValidationError(
                    self.env._(
                        "%(product)s: deliver between 0 and %(qty)s %(uom)s.",
                        product=move.product_id.display_name,
                        qty=move.product_uom_qty,
                        uom=move.product_uom.name,
                    )
                )
            result[move] = quantity
        delivered = {move: result.get(move, move.product_uom_qty) for move in moves}
        if moves and all(move.product_uom.is_zero(qty) for move, qty in delivered.items()):
            raise ValidationError(self.env._("Nothing was delivered: report the stop as failed instead."))
        return result

    def _lastmile_driven_sequence(self):
        """The position of this stop in the order the driver actually drives."""
        route = self.route_id[:1]
        if not route:
            return 0
        done = route.sudo().task_ids.filtered(lambda t: t.driven_sequence)
        return max(done.mapped("driven_sequence") or [0]) + 1

    def _lastmile_deliver_with_proof(self, proof, quantities, driven):
        """Mark the stop delivered; its delivery orders are validated right after, with the
        quantities handed over (the rest as a backorder), see :meth:`_cron_lastmile_stock`."""
        proof.sudo().delivered_quantities = {str(move.id): qty for move, qty in quantities.items()}
        captured = proof.captured_at  # when it happened, on the phone (never later than now)
        self.filtered(lambda t: t.state != "delivered")._set_state(
            "delivered", check=False, date_delivered=captured, date_closed=captured
        )
        self.sudo().driven_sequence = driven
        self.filtered(lambda t: not t.date_arrived).sudo().date_arrived = captured
        self._lastmile_log_proof(proof)
        self._lastmile_queue_stock("validate")

    def _lastmile_fail_with_proof(self, proof, driven):
        """Mark the stop failed with its reason, then what the reason says: the next attempt
        on the next delivery day, or the goods back in stock."""
        reason = proof.failure_reason_id
        self._set_state(
            "failed",
            failure_reason_id=reason.id,
            driven_sequence=driven,
            date_closed=proof.captured_at,  # when it happened, on the phone
        )
        self._lastmile_log_proof(proof)
        if reason.outcome == "retry":
            for task in self:
                task._lastmile_create_next_attempt()
        else:
            self._lastmile_queue_stock("return")

    # ------------------------------------------------------------------ the warehouse side

    def _lastmile_queue_stock(self, what):
        """Ask the warehouse side of a report (``validate`` or ``return``) of the open delivery
        orders of these deliveries, after the commit: many stops of the same product reported
        at once would otherwise wait on each other's stock rows, and the driver with them."""
        todo = self.sudo().filtered(lambda t: t.picking_id and t.picking_id.state not in ("done", "cancel"))
        if todo:
            todo.stock_pending = what
            self.env.ref("lastmile_delivery_pod.ir_cron_lastmile_stock").sudo()._trigger()

    @api.model
    def _cron_lastmile_stock(self, batch=50):
        """Validate the delivery orders of delivered stops, cancel those of returned ones, one
        delivery at a time, each committed. A concurrent update of the same stock waits for
        the next round, seconds later; a delivery order the warehouse must look at (not
        reserved any more, lots to choose…) is left as it is, with a note and an activity."""
        pending = [("stock_pending", "!=", False)]
        Cron = self.env["ir.cron"]
        for task in self.sudo().search(pending, limit=batch, order="id"):
            try:
                with self.env.cr.savepoint():
                    task._lastmile_apply_stock()
            except (UserError, ValidationError) as error:
                task._lastmile_stock_failed(error)
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                self.env.ref("lastmile_delivery_pod.ir_cron_lastmile_stock")._trigger(
                    fields.Datetime.now() + timedelta(seconds=10)
                )
                Cron._commit_progress(remaining=0)  # the next round is the trigger above
                return
            Cron._commit_progress(1)
        # more than a batch waiting: the scheduler runs the job again at once
        Cron._commit_progress(remaining=self.sudo().search_count(pending))

    def _lastmile_apply_stock(self):
        self.ensure_one()
        what, self.stock_pending = self.stock_pending, False
        picking = self.picking_id
        if not picking or picking.state in ("done", "cancel"):
            return
        if what == "return":
            self._lastmile_return_goods()
            return
        handed = self.proof_id._handed_quantities() if self.proof_id else {}
        picking._lastmile_validate({move: handed[move.id] for move in picking.move_ids if move.id in handed})

    def _lastmile_stock_failed(self, error):
        self.stock_pending = False
        picking = self.picking_id
        message = self.env._(
            "Delivery order %(picking)s could not be updated after the driver's report: %(error)s",
            picking=picking.name,
            error=error,
        )
        self._message_log(body=message)
        responsible = picking.user_id or self.sale_order_id.user_id or self.create_uid
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Update the delivery order"),
            note=message,
            user_id=responsible.id,
        )

    def _lastmile_log_proof(self, proof):
        if proof.kind == "delivered":
            body = self.env._(
                "Delivered by %(driver)s%(recipient)s, proof %(proof)s.",
                driver=proof.driver_id.name,
                recipient=self.env._(", received by %(name)s", name=proof.recipient_name)
                if proof.recipient_name
                else "",
                proof=proof.name,
            )
        else:
            body = self.env._(
                "Not delivered by %(driver)s: %(reason)s.%(note)s",
                driver=proof.driver_id.name,
                reason=proof.failure_reason_id.name,
                note=f" {proof.note}" if proof.note else "",
            )
        for task in self:
            task._message_log(
                body=body, attachment_ids=proof.photo_ids.filtered(lambda a, t=task: a.res_id == t.id).ids
            )

    @api.model
    def _lastmile_next_delivery_day(self, company, after):
        """The first day after ``after`` the shop works (its working hours), within two weeks."""
        calendar = company.resource_calendar_id
        workdays = {int(a.dayofweek) for a in calendar.attendance_ids} if calendar else set(range(7))
        day = after + timedelta(days=1)
        for _i in range(14):
            if not workdays or day.weekday() in workdays:
                return day
            day += timedelta(days=1)
        return after + timedelta(days=1)

    def _lastmile_create_next_attempt(self):
        """The delivery goes out again on the next delivery day, as a new task (this one keeps
        its reason and proof), its attempts counted. Its delivery order stays reserved."""
        self.ensure_one()
        company = self.company_id
        today = company._lastmile_date_of(fields.Datetime.now())
        day = self._lastmile_next_delivery_day(company, max(self.scheduled_date or today, today))
        shift = timedelta(days=(day - self.scheduled_date).days) if self.scheduled_date else timedelta(days=1)
        picking = self.sudo().picking_id
        if picking and picking.state not in ("done", "cancel"):  # the warehouse sees the new day
            picking.scheduled_date = company._lastmile_localize(day, company.lastmile_delivery_hour_from)
        # the same delivery (its order, address, window's hours, load), on the new day
        (values,) = self.copy_data(
            {
                "window_start": self.window_start + shift,
                "window_end": self.window_end + shift,
                "weight": self.weight,
                "volume": self.volume,
                "product_ids": [(6, 0, self.product_ids.ids)],
                "attempt": self.attempt + 1,
                "previous_attempt_id": self.id,
            }
        )
        self.flush_recordset(["state"])  # one task under way per delivery order: this one is over
        attempt = self.sudo().create(values)
        attempt._queue_processing(dispatch=company.lastmile_auto_dispatch)
        # its day is in the customer's “not delivered” message, with a link to follow it
        self._message_log(
            body=self.env._(
                "New attempt %(task)s on %(day)s.", task=attempt.name, day=format_date(self.env, day)
            )
        )
        attempt._message_log(
            body=self.env._(
                "Attempt %(n)s after %(task)s failed (%(reason)s).",
                n=attempt.attempt,
                task=self.name,
                reason=self.failure_reason_id.name,
            )
        )
        return attempt

    def _lastmile_return_goods(self):
        """The goods go back to the warehouse: the delivery order is cancelled, its reservation
        released, the stock untouched (nothing left it). The order says so."""
        for task in self:
            picking = task.sudo().picking_id
            if picking and picking.state not in ("done", "cancel"):
                picking.action_cancel()
            if task.sale_order_id:
                task.sale_order_id.sudo().message_post(
                    body=self.env._(
                        "Delivery %(task)s failed (%(reason)s): the goods are back in the warehouse and "
                        "delivery order %(picking)s is cancelled.",
                        task=task.name,
                        reason=task.failure_reason_id.name,
                        picking=picking.name or "-",
                    ),
                    subtype_xmlid="mail.mt_note",
                )

    # ------------------------------------------------------------------ reopen

    def action_open_reopen_wizard(self):
        self._check_reopen_rights()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reopen Delivery"),
            "res_model": "lastmile.task.reopen",
            "view_mode": "form",
            "target": "new",
            "context": {"default_task_id": self.id},
        }

    def _check_reopen_rights(self):
        if not (self.env.su or self.env.user.has_group("lastmile_delivery.group_lastmile_manager")):
            raise AccessError(self.env._("Only a Last Mile manager can reopen a completed delivery."))

    def _lastmile_reopen(self, reason):
        """Back on the way: the driver captures the stop again. The proof is archived (kept as
        it was) and with it the whole stop it covered (the other orders to the same door come
        back too, or they would stay delivered without a proof); the reason goes to the
        chatter. A new attempt not yet on its way is cancelled; goods already back in the
        warehouse cannot be delivered from the van."""
        self = trusted(self)  # noqa: PLW0642 - no context key of the caller changes the flow
        self.ensure_one()
        self._check_reopen_rights()
        reason = (reason or "").strip()
        if not reason:
            raise UserError(self.env._("Say why the delivery is reopened."))
        if self.state not in ("delivered", "failed"):
            raise UserError(self.env._("Only a delivered or failed delivery can be reopened."))
        proof = self.proof_id
        stop = self | proof.task_ids.filtered(lambda t: t.state == self.state)
        stop.check_access("write")
        following = stop.sudo().next_attempt_ids.filtered(lambda t: t.state != "cancelled")
        if following.filtered(lambda t: t.state not in ("new", "assigned")):
            raise UserError(
                self.env._(
                    "Its new attempt %(task)s is already under way: reopen that one instead.",
                    task=", ".join(following.mapped("name")),
                )
            )
        returned = stop.filtered(
            lambda t: (
                t.state == "failed"
                and t.failure_reason_id.outcome == "return"
                and t.picking_id.state == "cancel"
            )
        )
        if returned:
            raise UserError(
                self.env._(
                    "The goods of %(task)s went back to the warehouse: create a new delivery.",
                    task=", ".join(returned.mapped("name")),
                )
            )
        following._set_state("cancelled", check=False)
        proof.sudo().write({"active": False, "reopen_reason": reason})
        stop._set_state(
            "in_transit",
            check=False,
            date_delivered=False,
            failure_reason_id=False,
            driven_sequence=0,
            stock_pending=False,  # what the report asked of the warehouse and is not done yet
        )
        for task in stop:
            others = stop - task
            task.message_post(
                body=self.env._(
                    "Reopened by %(user)s: %(reason)s. The proof %(proof)s is archived.%(others)s",
                    user=self.env.user.name,
                    reason=reason,
                    proof=proof.name or "-",
                    others=self.env._(" Reopened with it (same stop): %s.", ", ".join(others.mapped("name")))
                    if others
                    else "",
                ),
                subtype_xmlid="mail.mt_note",
            )
        return True

    # ------------------------------------------------------------------ proof report

    def action_lastmile_print_proof(self):
        return self.env.ref("lastmile_delivery_pod.action_report_proof_task").report_action(self)

    def _lastmile_report_proofs(self):
        self.check_access("read")
        return self.proof_ids.filtered("active").sorted("captured_at")

    @api.model
    def _lastmile_home_action(self):
        """Drivers open the app on My Route."""
        if not self._is_dispatcher():
            return self.env["ir.actions.actions"]._for_xml_id(
                "lastmile_delivery_pod.lastmile_driver_day_action"
            )
        return super()._lastmile_home_action()
