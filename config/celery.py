import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django's system checks run where the web app starts and in `make test`. Run again at each worker's
# start they would import the URLconf, the admin, DRF and the schema generator only to check them:
# about 27 MB more in every worker process, for code a sync task never touches.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
