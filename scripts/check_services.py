"""Stops `make test` at once, with a message that says how to start it, if PostgreSQL or Redis is down."""

import os
import socket
import sys
from urllib.parse import urlsplit

CHECKS = [
    ("PostgreSQL", os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub"), 5432,
     "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   (or set DATABASE_URL)"),
    ("Redis", os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379"), 6379,
     "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no   (or set TEST_REDIS_SERVER)"),
]

failed = False
for name, url, default_port, how in CHECKS:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        failed = True
        print(f"{name} is not reachable at {host}:{port} ({exc}).\n  Start it with: {how}", file=sys.stderr)
sys.exit(1 if failed else 0)
