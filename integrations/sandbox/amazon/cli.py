"""Run the Amazon sandbox in the foreground: `python -m integrations.sandbox.amazon --port 8701`.

`manage.py sandbox amazon` calls `main(argv)`; anything else that wants the app calls `build_app`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from integrations.sandbox.http import SandboxServer

from .app import DEFAULT_REDIRECT_URIS, AmazonSandbox
from .seeding import DEMO_REFRESH_TOKEN, DEMO_SELLER_ID


def build_app(*, redirect_uris: Sequence[str] | None = None, time_scale: float = 1.0, rate_limits: bool = True,
              seed_demo: bool = False, **options: Any) -> AmazonSandbox:
    """An AmazonSandbox; `options` are the constructor's other keyword arguments (LWA credentials, ...)."""
    return AmazonSandbox(redirect_uris=tuple(redirect_uris or DEFAULT_REDIRECT_URIS), time_scale=time_scale,
                         rate_limits=rate_limits, seed_demo=seed_demo, **options)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m integrations.sandbox.amazon",
                                description="Local Amazon SP-API + Login with Amazon sandbox")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8701, help="0 picks a free port")
    p.add_argument("--public-url", help="base URL clients use, if not http://HOST:PORT (presigned feed URLs)")
    p.add_argument("--redirect-uri", action="append", dest="redirect_uris",
                   help="registered OAuth redirect URI (repeatable; the first is the default)")
    p.add_argument("--seed-demo", action="store_true", help="seed a demo seller with orders, listings, supply sources")
    p.add_argument("--time-scale", type=float, default=1.0, help="rate-limit refill speed multiplier")
    p.add_argument("--no-rate-limits", action="store_true", help="turn every usage plan off")
    p.add_argument("--lag-seconds", type=float, default=0.0,
                   help="how far behind now order searches end (Amazon: 120)")
    p.add_argument("--lwa-client-id", default="amzn1.application-oa2-client.sandbox")
    p.add_argument("--lwa-client-secret", default="sandbox-secret")
    p.add_argument("--application-id", default="amzn1.sellerapps.app.sandbox")
    p.add_argument("--sqs-endpoint", default="", help="SQS endpoint URL for ORDER_CHANGE messages (moto's server)")
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    app = build_app(redirect_uris=args.redirect_uris, time_scale=args.time_scale, rate_limits=not args.no_rate_limits,
                    seed_demo=args.seed_demo, lag_seconds=args.lag_seconds, lwa_client_id=args.lwa_client_id,
                    lwa_client_secret=args.lwa_client_secret, application_id=args.application_id,
                    sqs_endpoint_url=args.sqs_endpoint)
    server = SandboxServer(app, host=args.host, port=args.port, verbose=args.verbose)
    if args.public_url:
        app.base_url = args.public_url.rstrip("/")
    lines = [
        f"Amazon SP-API sandbox listening on {server.url}",
        f"  SP-API and LWA endpoint: {app.base_url}   (LWA token URL {app.base_url}/auth/o2/token)",
        f"  control page:            {app.base_url}/_sandbox/",
        f"  LWA client id / secret:  {args.lwa_client_id} / {args.lwa_client_secret}",
        f"  application id:          {args.application_id}",
        f"  redirect URIs:           {', '.join(app.state.app.redirect_uris)}",
    ]
    if args.seed_demo:
        lines.append(f"  demo seller:             {DEMO_SELLER_ID} (refresh token {DEMO_REFRESH_TOKEN})")
    print("\n".join(lines), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        server.stop()
    return 0
