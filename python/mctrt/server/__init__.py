"""The live dashboard and its API (aiohttp): create_app() builds the application for a pipeline
(app.py; its routes in routes.py, their shapes in openapi.py, the access checks in security.py, the
live pushes in hub.py); serve() runs it beside the pipeline until SIGINT/SIGTERM (serve.py)."""

from mctrt.server.app import create_app
from mctrt.server.serve import serve

__all__ = ["create_app", "serve"]
