"""Share setup link: an admin e-mails a brand a link that completes Connect for one integration without
an account here. Single use, expiring, revocable; only a SHA-256 of the token is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from warehouse.models import User

from ..errors import IntegrationError
from ..models import Integration, SetupLink
from .log import INFO, log_entry

logger = logging.getLogger(__name__)

SETUP_LINK_TTL = dt.timedelta(days=7)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def setup_link_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("integrations:setup_link", args=[token])


def setup_link_create(*, integration: Integration, email: str, user: User) -> tuple[SetupLink, str]:
    """Stores the link (hashed) and e-mails it to the brand; returns the link and the plain token."""
    if not user.is_tenant_admin or integration.tenant_id != user.tenant_id:
        raise IntegrationError("Only the warehouse's admins can share a setup link.")
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise IntegrationError("Enter the brand's e-mail address.") from None
    if integration.status == Integration.Status.DELETED:
        raise IntegrationError("This integration was deleted.")
    if integration.is_connected:
        raise IntegrationError("This integration is already connected; a setup link is for one that is not.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = SetupLink.objects.create(integration=integration, email=email, token_hash=_hash(token),
                                        created_by=user, expires_at=timezone.now() + SETUP_LINK_TTL)
        log_entry(integration=integration, level=INFO, event="setup_link.sent",
                  message=f"Setup link e-mailed by {user.get_username()}; it expires on "
                          f"{timezone.localtime(link.expires_at):%d %b %Y %H:%M}.")
    context = {"integration": integration, "tenant": integration.tenant, "url": setup_link_url(token),
               "expires_at": link.expires_at, "marketplace": integration.get_marketplace_display()}
    send_mail(subject=f"{integration.tenant.name} asks you to connect your {context['marketplace']} account",
              message=render_to_string("integrations/email/setup_link.txt", context),
              from_email=None, recipient_list=[email])
    logger.info("setup_link.sent", extra={"integration_id": integration.id, "setup_link_id": link.id})
    return link, token


def setup_link_refusal(link: SetupLink | None) -> str | None:
    """Why this link cannot be used (a sentence for the brand), or None when it can."""
    if link is None:
        return "This setup link is not valid. Ask your warehouse to send you a new one."
    if link.revoked_at:
        return "This setup link was revoked by your warehouse. Ask them to send you a new one."
    if link.used_at:
        return "This setup link was already used. Ask your warehouse if you need to connect again."
    if timezone.now() >= link.expires_at:
        return "This setup link has expired. Ask your warehouse to send you a new one."
    if link.integration.status == Integration.Status.DELETED:
        return "The integration this link was for no longer exists."
    if link.integration.is_connected:
        return "This integration is already connected. Nothing more to do."
    return None


def setup_link_get(*, token: str) -> SetupLink | None:
    if not token or len(token) > 100:
        return None
    return (SetupLink.objects.select_related("integration", "integration__tenant", "integration__customer")
            .filter(token_hash=_hash(token)).first())


def setup_link_open(*, token: str) -> SetupLink:
    """The brand opened the link: usable, or an IntegrationError that says why not."""
    link = setup_link_get(token=token)
    refusal = setup_link_refusal(link)
    if refusal:
        raise IntegrationError(refusal)
    if link.opened_at is None:
        SetupLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(opened_at=timezone.now())
    return link


def setup_link_mark_used(*, link: SetupLink) -> bool:
    """Called once Connect succeeded with this link; True only for the first use."""
    used = SetupLink.objects.filter(pk=link.pk, used_at__isnull=True, revoked_at__isnull=True).update(
        used_at=timezone.now())
    if used:
        log_entry(integration=link.integration, level=INFO, event="setup_link.used",
                  message="The brand completed Connect through the e-mailed setup link.")
    return bool(used)


def setup_link_revoke(*, link: SetupLink, user: User) -> SetupLink:
    if link.used_at:
        raise IntegrationError("This link was already used; there is nothing to withdraw.")
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        log_entry(integration=link.integration, level=INFO, event="setup_link.revoked",
                  message=f"Setup link revoked by {user.get_username()}.")
    return link
