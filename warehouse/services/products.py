from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ..errors import WarehouseError
from ..models import Customer, Product, ProductAlternativeCode, Tenant


@dataclass(frozen=True)
class AlternativeCode:
    code: str
    kind: str = ""     # e.g. ASIN, GTIN


@transaction.atomic
def product_create(
    *,
    tenant: Tenant,
    customer: Customer,
    code: str,
    name: str,
    alternative_codes: Sequence[AlternativeCode] = (),
) -> Product:
    """A customer's product. `code` is the SKU the marketplaces use, unique per customer."""
    if customer.tenant_id != tenant.id:
        raise WarehouseError("Customer not found.", field="customer")
    code, name = code.strip(), name.strip()
    if not code:
        raise WarehouseError("A product needs a code (its SKU).", field="code")
    if not name:
        raise WarehouseError("A product needs a name.", field="name")
    duplicate = f"{customer.name} already has a product with code {code}."
    if Product.objects.filter(customer=customer, code=code).exists():
        raise WarehouseError(duplicate, field="code")
    alternatives: dict[str, str] = {}
    for alt in alternative_codes:
        alt_code = alt.code.strip()
        if not alt_code:
            raise WarehouseError("An alternative code cannot be empty.", field="alternative_codes")
        if alt_code in alternatives:
            raise WarehouseError(f"Alternative code {alt_code} is listed twice.", field="alternative_codes")
        alternatives[alt_code] = alt.kind.strip()
    try:
        with transaction.atomic():
            product = Product.objects.create(tenant=tenant, customer=customer, code=code, name=name)
    except IntegrityError:
        # Another request created the same code between the check above and this insert.
        raise WarehouseError(duplicate, field="code") from None
    ProductAlternativeCode.objects.bulk_create(
        ProductAlternativeCode(product=product, code=alt_code, kind=kind)
        for alt_code, kind in alternatives.items())
    return product
