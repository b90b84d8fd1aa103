"""Video backends: the :class:`~meetsvc.video.base.VideoBackend` protocol and one module per backend.

``base`` holds the protocol, its values and errors; ``registry.create_backend`` builds the one the
configuration names. Nothing here touches meetings or storage: the hand-over code decides *when*
to call a backend, the backend only knows *how*.
"""
