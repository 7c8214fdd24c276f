"""`manage.py sandbox amazon|etsy --port N`: run a marketplace sandbox in the foreground.

The product never imports the sandbox; this command is how `make run` and a developer start it.
"""

import importlib

from django.core.management.base import BaseCommand, CommandError

SANDBOXES = {"amazon": "integrations.sandbox.amazon", "etsy": "integrations.sandbox.etsy"}


class Command(BaseCommand):
    help = "Run the local Amazon SP-API or Etsy API sandbox server."

    def add_arguments(self, parser):
        parser.add_argument("marketplace", choices=sorted(SANDBOXES))
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--redirect-uri", action="append", default=[],
                            help="An OAuth redirect URI registered for the sandbox app (repeatable).")
        parser.add_argument("--seed-demo", action="store_true", help="Seed a demo seller/shop with orders.")

    def handle(self, *args, marketplace, port, redirect_uri, seed_demo, **options):
        module = importlib.import_module(SANDBOXES[marketplace])
        argv = ["--port", str(port)]
        for uri in redirect_uri:
            argv += ["--redirect-uri", uri]
        if seed_demo:
            argv.append("--seed-demo")
        try:
            module.main(argv)
        except KeyboardInterrupt:
            pass
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise CommandError(f"{marketplace} sandbox stopped with status {exc.code}") from exc
