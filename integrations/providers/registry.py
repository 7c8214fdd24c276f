"""Builds the configured provider for a marketplace key from settings (the only place that does)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .base import MarketplaceProvider


@dataclass(frozen=True)
class MarketplaceInfo:
    """What the pages say about a marketplace: one tile each on the integrations page."""

    key: str
    label: str
    account: str          # what a brand connects: "Seller Central account", "Etsy shop"
    summary: str


# Every marketplace the hub has a provider for, in the order the pages show them. A new provider
# adds itself here (and to get_provider) and gets its tile without any template change.
MARKETPLACES: tuple[MarketplaceInfo, ...] = (
    MarketplaceInfo("amazon", "Amazon", "Seller Central account",
                    "Merchant-fulfilled orders in, tracking and stock levels back to Amazon."),
    MarketplaceInfo("etsy", "Etsy", "Etsy shop",
                    "Paid receipts in, tracking back and the receipt completed, stock levels to listings."),
)


def marketplaces() -> tuple[MarketplaceInfo, ...]:
    return MARKETPLACES


def _limiter():
    # The product's shared token buckets (Redis); imported here so providers stay free of Django.
    from integrations.ratelimit import shared_limiter

    return shared_limiter()


def get_provider(key: str) -> MarketplaceProvider:
    if key == "amazon":
        from .amazon.provider import AmazonProvider

        return AmazonProvider(
            lwa_app_id=settings.AMAZON_LWA_APP_ID,
            lwa_client_secret=settings.AMAZON_LWA_CLIENT_SECRET,
            application_id=settings.AMAZON_APPLICATION_ID,
            lwa_token_url=settings.AMAZON_LWA_TOKEN_URL,
            spapi_endpoint=settings.AMAZON_SPAPI_ENDPOINT,
            seller_central_url=settings.AMAZON_SELLER_CENTRAL_URL,
            app_is_draft=settings.AMAZON_APP_IS_DRAFT,
            timeout=settings.MARKETPLACE_HTTP_TIMEOUT,
            limiter=_limiter(),
            retries=settings.MARKETPLACE_RETRIES,
            retry_base=settings.MARKETPLACE_RETRY_BASE_SECONDS,
        )
    if key == "etsy":
        from .etsy.provider import EtsyProvider

        return EtsyProvider(
            keystring=settings.ETSY_KEYSTRING,
            shared_secret=settings.ETSY_SHARED_SECRET,
            api_base_url=settings.ETSY_API_BASE_URL,
            oauth_connect_url=settings.ETSY_OAUTH_CONNECT_URL,
            token_url=settings.ETSY_TOKEN_URL,
            timeout=settings.MARKETPLACE_HTTP_TIMEOUT,
            token_timeout=settings.ETSY_TOKEN_TIMEOUT,
            limiter=_limiter(),
            requests_per_second=settings.ETSY_REQUESTS_PER_SECOND,
            requests_per_day=settings.ETSY_REQUESTS_PER_DAY,
            retries=settings.MARKETPLACE_RETRIES,
            retry_base=settings.MARKETPLACE_RETRY_BASE_SECONDS,
        )
    raise LookupError(f"no provider for marketplace {key!r}")
