"""The web dashboard under `/ui/`: server-rendered pages (jinja2), a few JSON and
Server-Sent Events routes for the pages' scripts, and the static files they load.

Pages call the same core functions as the RPC routes, scoped to the signed-in account
exactly as `X-User` scopes an RPC call (`daemon.web.sessions`).
"""

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from daemon.web import activity, datasets, insights, jobs, models, operator, sign_in
from daemon.web.paths import STATIC_PREFIX

HERE = Path(__file__).parent
# An explicit list, as daemon.routes' tables are read: greppable, in the order they match.
PAGE_MODULES = (sign_in, datasets, jobs, models, insights, activity, operator)


def setup_web(app: web.Application) -> None:
    """Templates, static files and every page route of the dashboard."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_static(STATIC_PREFIX.rstrip("/"), HERE / "static", name="static")
    for module in PAGE_MODULES:
        app.router.add_routes(module.routes)
