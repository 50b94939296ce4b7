"""The Loa device protocol: message models, topic names and command signing.

This package never imports Django or the ``loa`` server; devices and the server both depend on it.
"""

PROTOCOL_VERSION = "v1"
