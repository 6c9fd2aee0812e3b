"""The web side: the Flask app (``app``), its blueprints, Socket.IO and serving.

Importing the package loads nothing heavy: ``hht serve``'s gunicorn arbiter imports only
``webapp.web.server``, and the app (Flask, Socket.IO, the station) loads in the worker.
"""
