"""Starts everything `make run` promises, in the foreground, and stops it all on Ctrl-C:
the web app, a Celery worker, Celery beat, and the Amazon and Etsy sandboxes.

With no DATABASE_URL / CELERY_BROKER_URL set the app uses SQLite and kombu's filesystem transport
under var/, so nothing but Python is needed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WEB = os.environ.get("HUB_WEB_ADDR", "127.0.0.1:8000")
AMAZON_PORT = int(os.environ.get("AMAZON_SANDBOX_PORT", "8701"))
ETSY_PORT = int(os.environ.get("ETSY_SANDBOX_PORT", "8702"))

# Point the product at the local sandboxes. These are the sandboxes' own demo credentials, not secrets.
SANDBOX_ENV = {
    "AMAZON_SPAPI_ENDPOINT": f"http://127.0.0.1:{AMAZON_PORT}",
    "AMAZON_LWA_TOKEN_URL": f"http://127.0.0.1:{AMAZON_PORT}/auth/o2/token",
    "AMAZON_SELLER_CENTRAL_URL": f"http://127.0.0.1:{AMAZON_PORT}",
    "AMAZON_LWA_APP_ID": "amzn1.application-oa2-client.sandbox",
    "AMAZON_LWA_CLIENT_SECRET": "sandbox-secret",
    "AMAZON_APPLICATION_ID": "amzn1.sellerapps.app.sandbox",
    "ETSY_API_BASE_URL": f"http://127.0.0.1:{ETSY_PORT}",
    "ETSY_OAUTH_CONNECT_URL": f"http://127.0.0.1:{ETSY_PORT}/oauth/connect",
    "ETSY_TOKEN_URL": f"http://127.0.0.1:{ETSY_PORT}/v3/public/oauth/token",
    "ETSY_KEYSTRING": "sandboxkeystring",
    "ETSY_SHARED_SECRET": "sandboxsecret",
    "OAUTHLIB_INSECURE_TRANSPORT": "1",   # the sandboxes speak plain http on loopback
    "PUBLIC_BASE_URL": f"http://{WEB}",
}


def main() -> int:
    env = {**os.environ, **{k: v for k, v in SANDBOX_ENV.items() if k not in os.environ}}
    env.setdefault("PYTHONUNBUFFERED", "1")
    base = env["PUBLIC_BASE_URL"]
    manage = [PY, str(ROOT / "manage.py")]
    celery = [PY, "-m", "celery", "-A", "config"]
    commands = {
        "amazon": manage + ["sandbox", "amazon", "--port", str(AMAZON_PORT), "--seed-demo",
                            "--redirect-uri", f"{base}/integrations/amazon/callback/"],
        "etsy": manage + ["sandbox", "etsy", "--port", str(ETSY_PORT), "--seed-demo",
                          "--redirect-uri", f"{base}/integrations/etsy/callback/"],
        "web": manage + ["runserver", WEB, "--noreload"],
        # Threads, not prefork: light on a laptop and fine for I/O-bound marketplace calls.
        "worker": celery + ["worker", "--loglevel", "INFO", "--pool", "threads", "--concurrency", "4"],
        "beat": celery + ["beat", "--loglevel", "INFO"],
    }
    procs: dict[str, subprocess.Popen] = {}
    for name, cmd in commands.items():
        procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    print(f"\nIntegration hub on http://{WEB}/  (Amazon sandbox :{AMAZON_PORT}, Etsy sandbox :{ETSY_PORT})")
    print("  logins: admin / admin-demo-pass (3PL admin), brand / brand-demo-pass (customer user)")
    print("  Ctrl-C stops everything.\n", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with status {proc.returncode}; stopping the rest.", file=sys.stderr)
                status = proc.returncode or 1
                stopping = True
                break
        time.sleep(0.5)
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.time() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return status


if __name__ == "__main__":
    sys.exit(main())
