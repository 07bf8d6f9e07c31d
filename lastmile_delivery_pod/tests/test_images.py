import io

from PIL import Image

from odoo.tests import BaseCase, tagged

from ..services import images
from .common import b64, picture


@tagged("-at_install", "post_install")
class TestImages(BaseCase):
    def rejected(self, raw, code, **kw):
        with self.assertRaises(images.ImageRejected) as caught:
            images.process(raw, **kw)
        self.assertEqual(caught.exception.code, code)
        return caught.exception

    def test_jpeg_png_webp_accepted_and_scaled(self):
        for kind in ("JPEG", "PNG", "WEBP"):
            data, mimetype, size = images.process(picture(kind, (4000, 3000)))
            self.assertEqual(mimetype, "image/jpeg")
            self.assertEqual(size, (1920, 1440), kind)
            self.assertEqual(Image.open(io.BytesIO(data)).format, "JPEG")
        data, mimetype, size = images.process(picture("PNG", (300, 100)), output="PNG")
        self.assertEqual((mimetype, size), ("image/png", (300, 100)), "a small signature keeps its size")

    def test_wrong_type_refused_by_content(self):
        gif = picture("GIF")
        self.assertEqual(self.rejected(gif, "format").params["found"], "GIF")
        self.rejected(b"%PDF-1.4\n1 0 obj << >> endobj\n", "damaged")
        self.rejected(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "damaged")

    def test_lying_name_or_prefix_changes_nothing(self):
        """Only the bytes count: a PDF sent as ``data:image/jpeg`` is no picture; a PNG sent as
        ``image/gif`` is one."""
        pdf = "data:image/jpeg;base64," + b64(b"%PDF-1.4 not a picture")
        self.rejected(images.decode_base64(pdf), "damaged")
        png = "data:image/gif;base64," + b64(picture("PNG"))
        self.assertEqual(images.process(images.decode_base64(png))[1], "image/jpeg")

    def test_too_large_refused_before_decoding(self):
        big = picture("PNG", (200, 200))
        error = self.rejected(big, "too_big", max_bytes=len(big) - 1)
        self.assertAlmostEqual(error.params["limit_mb"], (len(big) - 1) / 1024 / 1024)
        with self.assertRaises(images.ImageRejected) as caught:
            images.decode_base64("A" * 2000, max_bytes=1000)
        self.assertEqual(caught.exception.code, "too_big")

    def test_corrupt_refused(self):
        jpeg = picture("JPEG", (400, 300))
        self.rejected(jpeg[: len(jpeg) // 2], "damaged")
        self.rejected(b"", "empty")
        with self.assertRaises(images.ImageRejected) as caught:
            images.decode_base64("not base64 at all!")
        self.assertEqual(caught.exception.code, "encoding")

    def test_phone_orientation_applied(self):
        stream = io.BytesIO()
        image = Image.new("RGB", (80, 40), (0, 0, 255))
        exif = image.getexif()
        exif[0x0112] = 6  # rotated 90°: the phone was held upright
        image.save(stream, format="JPEG", exif=exif)
        self.assertEqual(images.process(stream.getvalue())[2], (40, 80))
