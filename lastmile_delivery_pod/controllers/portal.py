"""The proof of delivery on the customer's tracking page: its photos, signature and PDF, for
whoever may see the delivery (its link's token, or the customer's account)."""

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.addons.lastmile_delivery.controllers.portal import LastmileCustomerPortal
from odoo.http import request


def _private(response):
    """A customer's proof is kept by no shared cache (proxies), nor by the browser."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


class LastmileProofPortal(LastmileCustomerPortal):
    def _lastmile_proof(self, task_id, access_token):
        """The proof in force of a delivered delivery the visitor may see, in superuser mode."""
        task_sudo = self._lastmile_open_task(task_id, access_token)
        proof = task_sudo.proof_id if task_sudo.state == "delivered" else None
        if not proof:
            raise NotFound()
        return task_sudo, proof

    @http.route(
        "/my/deliveries/<int:task_id>/proof/photo/<int:photo_id>", type="http", auth="public", readonly=True
    )
    def portal_proof_photo(self, task_id, photo_id, access_token=None, **kw):
        task_sudo, proof = self._lastmile_proof(task_id, access_token)
        photo = proof.photo_ids.filtered(lambda a: a.id == photo_id)
        if not photo:
            raise NotFound()
        return _private(request.env["ir.binary"]._get_stream_from(photo).get_response())

    @http.route("/my/deliveries/<int:task_id>/proof/signature", type="http", auth="public", readonly=True)
    def portal_proof_signature(self, task_id, access_token=None, **kw):
        task_sudo, proof = self._lastmile_proof(task_id, access_token)
        if not proof.signature:
            raise NotFound()
        return _private(request.env["ir.binary"]._get_image_stream_from(proof, "signature").get_response())

    @http.route("/my/deliveries/<int:task_id>/proof.pdf", type="http", auth="public")
    def portal_proof_pdf(self, task_id, access_token=None, **kw):
        task_sudo, proof = self._lastmile_proof(task_id, access_token)
        pdf, kind = (
            request.env["ir.actions.report"]
            .sudo()
            ._render_qweb_pdf("lastmile_delivery_pod.action_report_proof_task", [task_sudo.id])
        )
        # the PDF; an HTML page where no PDF engine runs (tests)
        filename = f"Proof of delivery {task_sudo.customer_reference}.{kind}".replace("/", "-")
        return request.make_response(
            pdf,
            headers=[
                ("Content-Type", "application/pdf" if kind == "pdf" else "text/html; charset=utf-8"),
                ("Content-Length", len(pdf)),
                ("Content-Disposition", http.content_disposition(filename)),
            ],
        )
