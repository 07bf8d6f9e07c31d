from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# what makes an attachment the picture it is, and whose it is
CONTENT_FIELDS = {"raw", "datas", "db_datas", "store_fname", "url", "type", "res_model", "res_id"}


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    def _lastmile_proof_photos(self):
        """Those of these attachments that are photos of a proof of delivery."""
        if not self.ids:
            return self.browse()
        self.env["lastmile.delivery.proof"].flush_model(["photo_ids"])
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT attachment_id FROM lastmile_delivery_proof_photo_rel "
                "WHERE attachment_id IN %s",
                tuple(self.ids),
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def write(self, vals):
        if CONTENT_FIELDS & vals.keys() and not self.env.su and self._lastmile_proof_photos():
            raise UserError(self.env._("A photo of a proof of delivery cannot be changed."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_proof_photo(self):
        if not self.env.su and self._lastmile_proof_photos():
            raise UserError(self.env._("A photo of a proof of delivery cannot be deleted."))
