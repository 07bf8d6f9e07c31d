from . import portal, twilio
