"""The OpenAPI document and the live server agree (schemathesis, every check, bounded examples): every
operation, with generated valid and invalid parameters, answers a status the document lists, with
the body and headers it describes, and never a 500."""

import asyncio
import threading

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings

from mctrt.server import create_app
from mctrt.server.openapi import openapi
from test_app import TOKEN, make_pipeline

schema = schemathesis.openapi.from_dict(openapi(["west", "east"]))


@schema.auth()
class BearerToken:
    """The token every protected request carries (schemathesis leaves it out where it tests its absence)."""

    def get(self, case, context):
        return TOKEN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def live_server(assets, tmp_path_factory):
    """The app of a (not running) pipeline with a store and a token, served on a port of its own, on
    an event loop in a thread: the address to call."""
    pipeline = make_pipeline(assets, tmp_path_factory.mktemp("fuzz"), server={"token": TOKEN})
    pipeline.running = True  # as serve() has it (stopped, /health answers its documented 503: a 5xx to schemathesis)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(pipeline))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    pipeline.close()


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_server_does_what_its_openapi_document_says(case, live_server):
    case.call_and_validate(base_url=live_server)
