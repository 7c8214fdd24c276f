"""Running the Etsy sandbox on its own: `python -m integrations.sandbox.etsy --port 8702 [--seed-demo]`.

`build_app` and `main` are what `manage.py sandbox etsy` calls; nothing here imports Django.
"""

from __future__ import annotations

import argparse
from typing import Iterable, Sequence

from ..http import SandboxServer
from .app import DEFAULT_REDIRECT_URIS, EtsySandbox
from .demo import seed_demo_shop

DEFAULT_PORT = 8702


def build_app(*, keystring: str = "sandboxkeystring", shared_secret: str = "sandboxsecret",
              redirect_uris: Iterable[str] | None = None, per_second: int = 10, per_day: int = 10000,
              seed_demo: bool = False, app_name: str = "Integration hub (sandbox)") -> EtsySandbox:
    """An EtsySandbox; with seed_demo the demo shop is there at start and after every reset."""
    return EtsySandbox(keystring=keystring, shared_secret=shared_secret,
                       redirect_uris=tuple(redirect_uris or DEFAULT_REDIRECT_URIS), per_second=per_second,
                       per_day=per_day, app_name=app_name, seed=seed_demo_shop if seed_demo else None)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m integrations.sandbox.etsy",
                                description="A local Etsy Open API v3 server for development and tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    p.add_argument("--redirect-uri", action="append", dest="redirect_uris", metavar="URL",
                   help="a registered OAuth callback URL (repeatable); default: "
                        + ", ".join(DEFAULT_REDIRECT_URIS))
    p.add_argument("--keystring", default="sandboxkeystring")
    p.add_argument("--shared-secret", default="sandboxsecret")
    p.add_argument("--per-second", type=int, default=10, help="requests per second per API key (Etsy: 10)")
    p.add_argument("--per-day", type=int, default=10000,
                   help="requests per rolling day per API key (Etsy: 10000)")
    p.add_argument("--seed-demo", action="store_true",
                   help="start with a demo shop, listings and paid receipts")
    p.add_argument("--webhook-url", default="", metavar="URL",
                   help="register an ORDER_PAID webhook endpoint; {shop_id} is replaced per shop")
    p.add_argument("--webhook-secret", default="", help="its signing secret (whsec_...); default: a new one")
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    app = build_app(keystring=options.keystring, shared_secret=options.shared_secret,
                    redirect_uris=options.redirect_uris, per_second=options.per_second,
                    per_day=options.per_day, seed_demo=options.seed_demo)
    server = SandboxServer(app, host=options.host, port=options.port, verbose=options.verbose)
    if options.webhook_url:
        app.webhook_defaults = {"url": options.webhook_url, "secret": options.webhook_secret or None}
        app.webhooks.configure(**app.webhook_defaults)
    print(f"Etsy sandbox listening on {server.url}", flush=True)
    print(f"  API base        {server.url}/v3/application\n"
          f"  token URL       {server.url}/v3/public/oauth/token\n"
          f"  authorize URL   {server.url}/oauth/connect\n"
          f"  x-api-key       {app.api_key}   (OAuth client_id: {app.keystring})\n"
          f"  redirect URIs   {', '.join(app.redirect_uris)}\n"
          f"  control page    {server.url}/_sandbox/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
