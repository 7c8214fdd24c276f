"""Every Amazon marketplace in one table: id, country, region, SP-API endpoint, Seller Central host.

Sources: Amazon's "Marketplace IDs" and "SP-API Endpoints" pages and the Seller Central table of the
old developer guide (reference/sp-api.md §6, §7). Turning a marketplace on is a one-word change
here (`enabled=True`); the wizard offers only the enabled ones, the provider works for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.providers.base import ProviderRejected

# One SP-API endpoint per selling region; one consent grants every marketplace of that region (§6).
_NA = ("na", "https://sellingpartnerapi-na.amazon.com", "us-east-1")
_EU = ("eu", "https://sellingpartnerapi-eu.amazon.com", "eu-west-1")
_FE = ("fe", "https://sellingpartnerapi-fe.amazon.com", "us-west-2")
_SELLER_CENTRAL_EUROPE = "sellercentral-europe.amazon.com"


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country_code: str                # ISO 3166-1 alpha-2 (the United Kingdom is GB)
    name: str
    region: str                      # na, eu, fe
    endpoint: str                    # SP-API regional endpoint
    aws_region: str
    seller_central_host: str
    enabled: bool = False

    @property
    def seller_central_url(self) -> str:
        return f"https://{self.seller_central_host}"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.country_code})"


def _m(marketplace_id: str, country_code: str, name: str, region: tuple[str, str, str],
       seller_central_host: str, *, enabled: bool = False) -> Marketplace:
    code, endpoint, aws_region = region
    return Marketplace(marketplace_id=marketplace_id, country_code=country_code, name=name, region=code,
                       endpoint=endpoint, aws_region=aws_region, seller_central_host=seller_central_host,
                       enabled=enabled)


MARKETPLACES: tuple[Marketplace, ...] = (
    # North America
    _m("ATVPDKIKX0DER", "US", "United States", _NA, "sellercentral.amazon.com", enabled=True),
    _m("A2EUQ1WTGCTBG2", "CA", "Canada", _NA, "sellercentral.amazon.ca", enabled=True),
    _m("A1AM78C64UM0Y8", "MX", "Mexico", _NA, "sellercentral.amazon.com.mx"),
    _m("A2Q3Y263D00KWC", "BR", "Brazil", _NA, "sellercentral.amazon.com.br"),
    # Europe
    _m("A1F83G8C2ARO7P", "GB", "United Kingdom", _EU, _SELLER_CENTRAL_EUROPE),
    _m("A1PA6795UKMFR9", "DE", "Germany", _EU, _SELLER_CENTRAL_EUROPE),
    _m("A13V1IB3VIYZZH", "FR", "France", _EU, _SELLER_CENTRAL_EUROPE),
    _m("APJ6JRA9NG5V4", "IT", "Italy", _EU, _SELLER_CENTRAL_EUROPE),
    _m("A1RKKUPIHCS9HS", "ES", "Spain", _EU, _SELLER_CENTRAL_EUROPE),
    _m("A28R8C7NBKEWEA", "IE", "Ireland", _EU, "sellercentral.amazon.ie"),
    _m("A1805IZSGTT6HS", "NL", "Netherlands", _EU, "sellercentral.amazon.nl"),
    _m("AMEN7PMS3EDWL", "BE", "Belgium", _EU, "sellercentral.amazon.com.be"),
    _m("A2NODRKZP88ZB9", "SE", "Sweden", _EU, "sellercentral.amazon.se"),
    _m("A1C3SOZRARQ6R3", "PL", "Poland", _EU, "sellercentral.amazon.pl"),
    _m("A33AVAJ2PDY3EV", "TR", "Turkey", _EU, "sellercentral.amazon.com.tr"),
    _m("AE08WJ6YKNBMC", "ZA", "South Africa", _EU, "sellercentral.amazon.co.za"),
    _m("ARBP9OOSHTCHU", "EG", "Egypt", _EU, "sellercentral.amazon.eg"),
    _m("A17E79C6D8DWNP", "SA", "Saudi Arabia", _EU, "sellercentral.amazon.sa"),
    _m("A2VIGQ35RCS4UG", "AE", "United Arab Emirates", _EU, "sellercentral.amazon.ae"),
    _m("A21TJRUUN4KGV", "IN", "India", _EU, "sellercentral.amazon.in"),
    # Far East
    _m("A39IBJ37TRP1C6", "AU", "Australia", _FE, "sellercentral.amazon.com.au", enabled=True),
    _m("A1VC38T7YXB528", "JP", "Japan", _FE, "sellercentral.amazon.co.jp"),
    _m("A19VAU5U5O7RUS", "SG", "Singapore", _FE, "sellercentral.amazon.sg"),
)

_BY_ID = {m.marketplace_id: m for m in MARKETPLACES}


def marketplace_get(marketplace_id: str) -> Marketplace:
    """The marketplace with this id; ProviderRejected (with a message for the wizard) if unknown."""
    try:
        return _BY_ID[marketplace_id]
    except KeyError:
        raise ProviderRejected(f"Unknown Amazon marketplace id {marketplace_id!r}.") from None


def marketplaces_enabled() -> list[Marketplace]:
    """The marketplaces the wizard offers, in table order."""
    return [m for m in MARKETPLACES if m.enabled]
