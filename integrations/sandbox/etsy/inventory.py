"""The body rules of updateListingInventory (reference §7.2), used by the vendor PUT and the control API.

Etsy replaces a listing's whole product set on every PUT, so the body must describe all of it: every
combination of the variation values it names, each product with its offering, and `*_on_property`
arrays that agree with how price, quantity, SKU and processing profile actually vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

MISSING_PRODUCTS = "Missing input parameter: [products]"
ON_PROPERTY_KEYS = ("price_on_property", "quantity_on_property", "sku_on_property",
                    "readiness_state_on_property")
# Etsy's listing editor and API cap an offering's quantity at 999.
MAX_QUANTITY = 999
MAX_VARIATION_PROPERTIES = 2
# Fields a GET returns that a PUT must not carry back (§7.2 rule 2, issue #159).
READ_ONLY_PRODUCT_FIELDS = ("product_id", "is_deleted")
READ_ONLY_OFFERING_FIELDS = ("offering_id", "is_deleted")
READ_ONLY_PROPERTY_FIELDS = ("scale_name", "value_pairs")
PROPERTY_NAMES = {100: "Size", 200: "Primary color", 513: "Custom Property", 514: "Custom Property"}


class InventoryInvalid(ValueError):
    """A body Etsy refuses with 400 {"error": message}."""


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    property_values: tuple[dict[str, Any], ...]
    price: int                       # minor units (amount with divisor 100)
    quantity: int
    is_enabled: bool
    readiness_state_id: int | None

    @property
    def property_ids(self) -> tuple[int, ...]:
        return tuple(sorted(pv["property_id"] for pv in self.property_values))

    def value_of(self, property_id: int) -> tuple[str, ...]:
        for pv in self.property_values:
            if pv["property_id"] == property_id:
                return tuple(pv["values"])
        return ()

    def projection(self, property_ids: Iterable[int]) -> tuple[tuple[str, ...], ...]:
        return tuple(self.value_of(pid) for pid in sorted(property_ids))


@dataclass(frozen=True)
class InventorySpec:
    products: tuple[ProductSpec, ...]
    price_on_property: tuple[int, ...]
    quantity_on_property: tuple[int, ...]
    sku_on_property: tuple[int, ...]
    readiness_state_on_property: tuple[int, ...]


ValueIdFor = Callable[[int, str], int]


def parse_inventory(body: Any, *, value_id_for: ValueIdFor) -> InventorySpec:
    """Validate an updateListingInventory body; `value_id_for` names values sent without value_ids."""
    if not isinstance(body, dict) or not isinstance(body.get("products"), list) or not body["products"]:
        raise InventoryInvalid(MISSING_PRODUCTS)
    on_property = {key: _int_list(body.get(key), key) for key in ON_PROPERTY_KEYS}
    products = tuple(_product(raw, index, value_id_for) for index, raw in enumerate(body["products"]))
    spec = InventorySpec(products=products, **on_property)
    _check_structure(spec)
    _check_on_property(spec)
    return spec


def _int_list(value: Any, key: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        raise InventoryInvalid(f"Invalid value for [{key}]: expected an array of property ids")
    return tuple(sorted(set(value)))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _product(raw: Any, index: int, value_id_for: ValueIdFor) -> ProductSpec:
    where = f"products[{index}]"
    if not isinstance(raw, dict):
        raise InventoryInvalid(f"Invalid value for [{where}]: expected an object")
    for name in READ_ONLY_PRODUCT_FIELDS:
        if name in raw:
            raise InventoryInvalid(f"Unexpected parameter: [{where}.{name}]")
    sku = raw.get("sku")
    if sku is None:
        sku = ""
    if not isinstance(sku, str):
        raise InventoryInvalid(f"Invalid value for [{where}.sku]: expected a string")
    offerings = raw.get("offerings")
    if not isinstance(offerings, list) or not offerings:
        raise InventoryInvalid(f"Missing input parameter: [{where}.offerings]")
    if len(offerings) != 1:
        raise InventoryInvalid(f"Invalid value for [{where}.offerings]: a product has exactly one offering")
    offering = _offering(offerings[0], f"{where}.offerings[0]")
    raw_values = raw.get("property_values", [])
    if raw_values is None:
        raw_values = []
    if not isinstance(raw_values, list):
        raise InventoryInvalid(f"Invalid value for [{where}.property_values]: expected an array")
    values = tuple(_property_value(pv, f"{where}.property_values[{i}]", value_id_for)
                   for i, pv in enumerate(raw_values))
    ids = [pv["property_id"] for pv in values]
    if len(ids) != len(set(ids)):
        raise InventoryInvalid(f"Invalid value for [{where}.property_values]: a property appears twice")
    return ProductSpec(sku=sku.strip(), property_values=values, **offering)


def _offering(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InventoryInvalid(f"Invalid value for [{where}]: expected an object")
    for name in READ_ONLY_OFFERING_FIELDS:
        if name in raw:
            raise InventoryInvalid(f"Unexpected parameter: [{where}.{name}]")
    for name in ("price", "quantity", "is_enabled"):
        if name not in raw:
            raise InventoryInvalid(f"Missing input parameter: [{where}.{name}]")
    price = raw["price"]
    if isinstance(price, dict):
        # The GET's Money object sent back as is: Etsy wants amount / divisor as a float (§7.2 rule 2).
        raise InventoryInvalid(f"Invalid value for [{where}.price]: expected a float, not a Money object")
    if not _is_number(price) or price <= 0:
        raise InventoryInvalid(f"Invalid value for [{where}.price]: expected a positive float")
    quantity = raw["quantity"]
    if not _is_int(quantity) or not 0 <= quantity <= MAX_QUANTITY:
        raise InventoryInvalid(f"Invalid value for [{where}.quantity]: "
                               f"expected an integer from 0 to {MAX_QUANTITY}")
    if not isinstance(raw["is_enabled"], bool):
        raise InventoryInvalid(f"Invalid value for [{where}.is_enabled]: expected a boolean")
    readiness = raw.get("readiness_state_id")
    if readiness is not None and (not _is_int(readiness) or readiness < 1):
        raise InventoryInvalid(f"Invalid value for [{where}.readiness_state_id]: "
                               "expected a positive integer or null")
    return {"price": int(round(price * 100)), "quantity": quantity, "is_enabled": raw["is_enabled"],
            "readiness_state_id": readiness}


def _property_value(raw: Any, where: str, value_id_for: ValueIdFor) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InventoryInvalid(f"Invalid value for [{where}]: expected an object")
    for name in READ_ONLY_PROPERTY_FIELDS:
        if name in raw:
            raise InventoryInvalid(f"Unexpected parameter: [{where}.{name}]")
    for name in ("property_id", "value_ids", "values"):
        if name not in raw:
            raise InventoryInvalid(f"Missing input parameter: [{where}.{name}]")
    property_id, value_ids, values = raw["property_id"], raw["value_ids"], raw["values"]
    if not _is_int(property_id) or property_id < 1:
        raise InventoryInvalid(f"Invalid value for [{where}.property_id]")
    if not isinstance(values, list) or not values or not all(_is_text(v) for v in values):
        raise InventoryInvalid("Property values can't be empty")
    if any("(" in v or ")" in v for v in values):
        raise InventoryInvalid(f"Invalid value for [{where}.values]: values may not contain ( or )")
    if not isinstance(value_ids, list) or not all(_is_int(v) for v in value_ids):
        raise InventoryInvalid(f"Invalid value for [{where}.value_ids]: expected an array of integers")
    if value_ids and len(value_ids) != len(values):
        raise InventoryInvalid(f"Invalid value for [{where}.value_ids]: one id per value")
    # Custom properties (513, 514) arrive without value ids; Etsy assigns them.
    ids = list(value_ids) or [value_id_for(property_id, v.strip()) for v in values]
    name = raw.get("property_name")
    if not isinstance(name, str) or not name:
        name = PROPERTY_NAMES.get(property_id, "Property")
    scale_id = raw.get("scale_id")
    return {"property_id": property_id,
            "property_name": name,
            "scale_id": scale_id if _is_int(scale_id) else None,
            "scale_name": None,
            "value_ids": ids,
            "values": [v.strip() for v in values]}


def _check_structure(spec: InventorySpec) -> None:
    shapes = {p.property_ids for p in spec.products}
    if len(shapes) > 1:
        if () in shapes:
            raise InventoryInvalid("Property values can't be empty")
        raise InventoryInvalid("Every product must carry values for the same properties")
    property_ids = next(iter(shapes))
    if len(property_ids) > MAX_VARIATION_PROPERTIES:
        raise InventoryInvalid(f"A listing can vary on at most {MAX_VARIATION_PROPERTIES} properties")
    combinations = [p.projection(property_ids) for p in spec.products]
    if len(set(combinations)) != len(combinations):
        raise InventoryInvalid("Duplicate product: two products have the same property values")
    # The product set is a full grid: one product per combination of the values named (Etsy v2 said
    # "All combinations of property values must be supplied"; v3 answers a partial set the same way).
    expected = math.prod(len({p.value_of(pid) for p in spec.products}) for pid in property_ids)
    if len(spec.products) != expected:
        raise InventoryInvalid("All combinations of property values must be supplied")
    for key in ON_PROPERTY_KEYS:
        unknown = set(getattr(spec, key)) - set(property_ids)
        if unknown:
            if not property_ids:
                raise InventoryInvalid("Property values can't be empty")
            raise InventoryInvalid(f"Invalid value for [{key}]: property {min(unknown)} "
                                   "is not among the products' property values")


def _check_on_property(spec: InventorySpec) -> None:
    """A value may differ between products only along the properties its `*_on_property` names."""
    rules: tuple[tuple[str, str, str], ...] = (
        ("price_on_property", "price", "price"),
        ("quantity_on_property", "quantity", "offering quantity"),
        ("sku_on_property", "sku", "product sku"),
        ("readiness_state_on_property", "readiness_state_id", "processing profile"),
    )
    for key, attr, label in rules:
        seen: dict[tuple[tuple[str, ...], ...], Any] = {}
        for product in spec.products:
            value = getattr(product, attr)
            if attr == "readiness_state_id" and value is None:
                continue                      # omitted: the listing's profile applies (§7.4)
            group = product.projection(getattr(spec, key))
            if seen.setdefault(group, value) != value:
                raise InventoryInvalid(f"The supplied values for {label} "
                                       f"are incompatible with values in {key}")
    quantity_by_sku: dict[str, int] = {}
    for product in spec.products:
        if product.sku and quantity_by_sku.setdefault(product.sku, product.quantity) != product.quantity:
            raise InventoryInvalid("Products that share a SKU must have the same quantity")
    # Etsy refuses to zero a whole listing through the API (issues #395, #560): one offering must keep
    # a quantity; is_enabled=false is how a seller hides it.
    if not any(p.quantity > 0 for p in spec.products):
        raise InventoryInvalid("One offering must have quantity greater than 0")
