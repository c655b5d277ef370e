"""The live dashboard and its API (aiohttp): create_app() builds the application for a pipeline,
serve() runs both until SIGINT/SIGTERM. Routes and shapes: app.py and openapi.py."""

from mctrt.server.app import create_app, serve

__all__ = ["create_app", "serve"]
