from __future__ import annotations

import datetime as dt

from django import forms

from .models import Integration


class NewIntegrationForm(forms.Form):
    customer = forms.TypedChoiceField(coerce=int)
    marketplace = forms.ChoiceField(choices=Integration.Marketplace.choices)
    name = forms.CharField(max_length=100, help_text="For your own reference, e.g. 'Koala Mugs on Amazon AU'.")

    def __init__(self, *args, customers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [(c.id, c.name) for c in customers]


class CustomerPickForm(forms.Form):
    customer = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, customers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", "All customers"), *[(c.id, c.name) for c in customers]]


class AlertSettingsForm(forms.Form):
    recipients = forms.CharField(required=False, label="Alert recipients", max_length=5000,
                                 widget=forms.Textarea(attrs={"rows": 4}),
                                 help_text="E-mail addresses, one per line. Empty: no alert e-mails.")


class ShareSetupLinkForm(forms.Form):
    email = forms.EmailField(label="Brand's e-mail address", max_length=254)


class NameForm(forms.Form):
    name = forms.CharField(max_length=100)


class AmazonConnectForm(forms.Form):
    marketplace_id = forms.ChoiceField(label="Marketplace")

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["marketplace_id"].choices = choices


SERVICE_LEVELS = ("Standard", "Expedited", "SecondDay", "NextDay", "SameDay", "Scheduled", "FreeEconomy", "Priority")


class OrderCreationForm(forms.Form):
    default_warehouse = forms.TypedChoiceField(coerce=int, required=False, empty_value=None,
                                               help_text="Orders without a mapped supply source go here. None: "
                                                         "only orders from mapped supply sources come in.")
    match_by = forms.ChoiceField(choices=Integration.MatchBy.choices, label="Match order lines by")
    orders_api = forms.ChoiceField(choices=Integration.OrdersApi.choices, label="Orders API", required=False)

    def __init__(self, *args, integration: Integration, warehouses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.integration = integration
        choices = [("", "None: only mapped supply sources")] + [(w.id, str(w)) for w in warehouses]
        self.fields["default_warehouse"].choices = choices
        self.warehouses = {w.id: w for w in warehouses}
        self.sources = list(integration.supply_sources.all())
        for source in self.sources:
            label = f"{source.alias or source.code}" + ("" if source.is_active else f" ({source.status or 'inactive'})")
            self.fields[f"source_{source.supply_source_id}"] = forms.TypedChoiceField(
                coerce=int, required=False, empty_value=None, label=label,
                widget=forms.Select(attrs={"aria-label": f"Warehouse for supply source {source.alias or source.code}"}),
                choices=[("", "Default warehouse")] + [(w.id, str(w)) for w in warehouses],
                disabled=not source.is_active and source.warehouse_id is None)
        # Etsy: "Standard" unless the buyer paid for an upgrade (next day, second day or expedited).
        levels = SERVICE_LEVELS if integration.marketplace == "amazon" else ("Standard", "Expedited", "SecondDay", "NextDay")
        for level in levels:
            self.fields[f"ship_{level}"] = forms.CharField(required=False, max_length=100, label=level,
                                                           initial=integration.shipping_method_map.get(level, ""))
        if integration.marketplace != "amazon":
            del self.fields["match_by"], self.fields["orders_api"]

    def source_fields(self):
        return [(s, self[f"source_{s.supply_source_id}"]) for s in self.sources]

    def shipping_fields(self):
        return [self[name] for name in self.fields if name.startswith("ship_")]

    def supply_source_warehouses(self):
        return {s.supply_source_id: self.warehouses.get(self.cleaned_data.get(f"source_{s.supply_source_id}"))
                for s in self.sources if not self.fields[f"source_{s.supply_source_id}"].disabled}

    def shipping_method_map(self):
        return {name.removeprefix("ship_"): self.cleaned_data[name] for name in self.fields if name.startswith("ship_")}


class FulfilmentForm(forms.Form):
    fulfilment_enabled = forms.BooleanField(required=False, label="Send tracking to the marketplace when an order is "
                                                                  "dispatched")
    carrier_map = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                  label="Carrier names", help_text="One per line: our carrier = the marketplace's "
                                                                   "carrier code, e.g. 'AusPost = Australia Post'.")
    inventory_enabled = forms.BooleanField(required=False, label="Send stock levels to the marketplace")
    inventory_frequency_minutes = forms.TypedChoiceField(coerce=int, choices=Integration.INVENTORY_FREQUENCIES,
                                                         label="Stock level frequency")
    inventory_warehouses = forms.TypedMultipleChoiceField(coerce=int, required=False,
                                                          label="Warehouses counted for available stock",
                                                          widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, warehouses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inventory_warehouses"].choices = [(w.id, str(w)) for w in warehouses]
        self.warehouses = {w.id: w for w in warehouses}

    def clean_carrier_map(self):
        result = {}
        for n, line in enumerate(self.cleaned_data["carrier_map"].splitlines(), start=1):
            if not line.strip():
                continue
            ours, sep, theirs = line.partition("=")
            if not sep or not ours.strip() or not theirs.strip():
                raise forms.ValidationError(f"Line {n}: write it as 'our carrier = marketplace carrier'.")
            result[ours.strip()] = theirs.strip()
        return result


class ImportMissingForm(forms.Form):
    MAX_IDS = 50
    # Amazon's 3-7-7 order number is 19 characters; Etsy receipt ids are shorter.
    MAX_ID_LENGTH = 19

    order_numbers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                    help_text="Up to 50 marketplace order numbers, one per line or comma-separated.")
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        ids = [i.strip() for i in data.get("order_numbers", "").replace(",", "\n").splitlines() if i.strip()]
        if len(ids) > self.MAX_IDS:
            raise forms.ValidationError(f"At most {self.MAX_IDS} order numbers at a time ({len(ids)} given).")
        start, end = data.get("date_from"), data.get("date_to")
        if not ids and not start:
            raise forms.ValidationError("Give order numbers or a start date.")
        if ids and (start or end):
            raise forms.ValidationError("Give either order numbers or dates, not both: numbers import exactly those "
                                        "orders, dates every order placed in the range.")
        too_long = [i for i in ids if len(i) > self.MAX_ID_LENGTH]
        if too_long:
            raise forms.ValidationError(f"{too_long[0][:40]}… is longer than any marketplace's order number "
                                        f"(at most {self.MAX_ID_LENGTH} characters).")
        today = dt.date.today()
        if (start and start > today) or (end and end > today):
            raise forms.ValidationError("The dates are in the future: no orders were placed then yet.")
        if end and not start:
            raise forms.ValidationError("Give a start date with the end date.")
        if start and end and end < start:
            raise forms.ValidationError("The end date is before the start date.")
        if start and start < dt.date.today() - dt.timedelta(days=30):
            raise forms.ValidationError("Import missing orders looks back at most 30 days.")
        data["ids"] = ids
        return data


class LogFilterForm(forms.Form):
    level = forms.ChoiceField(required=False, label="Level", choices=[
        ("", "All levels"), ("ERROR", "Errors only"), ("INFO", "Info and errors"), ("DEBUG", "Debug and above (all)")])
