"""Starts everything `make run` promises, in the foreground, and stops it all on Ctrl-C:
the web app, a Celery worker, Celery beat, the Amazon and Etsy sandboxes, an SQS-compatible queue
(moto's server) and the Amazon ORDER_CHANGE consumer.

Push is on: an order added on the Amazon sandbox page reaches the queue and the consumer imports it
within seconds; a paid receipt added on the Etsy sandbox page is posted, signed, to the hub's webhook.

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
SQS_PORT = int(os.environ.get("SQS_PORT") or os.environ.get("EXTRA_PORT_BASE") or "8703")
SQS_URL = f"http://127.0.0.1:{SQS_PORT}"
QUEUE_NAME = "hub-order-change"

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
    # Push: moto's SQS on loopback takes any credentials; the Etsy signing secret is the sandbox's demo one.
    "SQS_ENDPOINT_URL": SQS_URL,
    "AMAZON_NOTIFICATIONS_QUEUE_URL": f"{SQS_URL}/123456789012/{QUEUE_NAME}",
    "AMAZON_NOTIFICATIONS_SQS_ARN": f"arn:aws:sqs:us-east-1:123456789012:{QUEUE_NAME}",
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "ETSY_WEBHOOK_SIGNING_SECRET": "whsec_c2FuZGJveC13ZWJob29rLXNpZ25pbmctc2VjcmV0",
    "SQS_WAIT_SECONDS": "5",
}


def _start_queue(env: dict[str, str]) -> subprocess.Popen:
    """moto's server, then the queue Amazon's notifications go to (created once it answers)."""
    proc = subprocess.Popen([PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(SQS_PORT)], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import boto3

    client = boto3.client("sqs", region_name="us-east-1", endpoint_url=SQS_URL, aws_access_key_id="sandbox",
                          aws_secret_access_key="sandbox")
    deadline = time.time() + 30
    while True:
        try:
            client.create_queue(QueueName=QUEUE_NAME)
            return proc
        except Exception:  # noqa: BLE001 - not listening yet
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit(f"moto's SQS server did not start on {SQS_URL}") from None
            time.sleep(0.3)


def main() -> int:
    env = {**os.environ, **{k: v for k, v in SANDBOX_ENV.items() if k not in os.environ}}
    env.setdefault("PYTHONUNBUFFERED", "1")
    base = env["PUBLIC_BASE_URL"]
    manage = [PY, str(ROOT / "manage.py")]
    celery = [PY, "-m", "celery", "-A", "config"]
    commands = {
        # The sandboxes' own command lines (manage.py sandbox passes only the common options).
        "amazon": [PY, "-m", "integrations.sandbox.amazon", "--port", str(AMAZON_PORT), "--seed-demo",
                            "--redirect-uri", f"{base}/integrations/amazon/callback/",
                            "--sqs-endpoint", env["SQS_ENDPOINT_URL"]],
        "etsy": [PY, "-m", "integrations.sandbox.etsy", "--port", str(ETSY_PORT), "--seed-demo",
                          "--redirect-uri", f"{base}/integrations/etsy/callback/",
                          "--webhook-url", f"{base}/integrations/etsy/webhooks/{{shop_id}}/",
                          "--webhook-secret", env["ETSY_WEBHOOK_SIGNING_SECRET"]],
        "web": manage + ["runserver", WEB, "--noreload"],
        # Threads, not prefork: light on a laptop and fine for I/O-bound marketplace calls.
        "worker": celery + ["worker", "--loglevel", "INFO", "--pool", "threads", "--concurrency", "4"],
        "beat": celery + ["beat", "--loglevel", "INFO"],
        "consumer": manage + ["amazon_push_consumer"],
    }
    procs: dict[str, subprocess.Popen] = {"sqs": _start_queue(env)}
    for name, cmd in commands.items():
        procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    print(f"\nIntegration hub on http://{WEB}/  (Amazon sandbox :{AMAZON_PORT}, Etsy sandbox :{ETSY_PORT}, "
          f"SQS :{SQS_PORT})")
    print("  push: add an order on either sandbox's page (/_sandbox/) and watch it arrive within seconds")
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
