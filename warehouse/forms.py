from __future__ import annotations

from django import forms

from .models import OutboundOrder


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *OutboundOrder.Status.choices])
    customer = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    warehouse = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(required=False, label="Marketplace")
    q = forms.CharField(required=False, label="Reference")

    def __init__(self, *args, customers=(), warehouses=(), sources=(), extra_filters=(), **kwargs):
        """sources: the `source` values of the orders in scope; extra_filters: (OrderListFilter, choices)."""
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", "Any customer"), *[(c.id, c.name) for c in customers]]
        self.fields["warehouse"].choices = [("", "Any warehouse"), *[(w.id, str(w)) for w in warehouses]]
        self.fields["source"].choices = [("", "Any marketplace"), *[(s, s.replace("_", " ").capitalize())
                                                                    for s in sources]]
        self.extra_filters = []
        for order_filter, choices in extra_filters:
            self.fields[order_filter.name] = forms.ChoiceField(
                required=False, label=order_filter.label, choices=[("", order_filter.any_label), *choices])
            self.extra_filters.append(order_filter)

    def extra_fields(self):
        return [self[f.name] for f in self.extra_filters]


class DispatchForm(forms.Form):
    """Dispatch with a consignment: a carrier and one or more packages, each with its tracking number
    and the quantity of each order line it holds (a grid of lines × packages)."""

    MAX_PACKAGES = 10

    carrier = forms.CharField(max_length=100)
    service = forms.CharField(max_length=100, required=False)
    delivery_run_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    allow_duplicate_tracking = forms.BooleanField(
        required=False, label="Yes, these packages really share one tracking number")

    def __init__(self, *args, order: OutboundOrder, package_count: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.package_count = max(1, min(package_count, self.MAX_PACKAGES))
        self.lines = list(order.lines.select_related("product"))
        # The grid shows no <label> per cell, so each input carries its label as aria-label.
        for p in range(self.package_count):
            label = f"Package {p + 1} tracking number"
            self.fields[f"tracking_{p}"] = forms.CharField(max_length=100, required=False, label=label,
                                                           widget=forms.TextInput(attrs={"aria-label": label}))
            for line in self.lines:
                label = f"{line.product.code} in package {p + 1}"
                self.fields[f"qty_{line.id}_{p}"] = forms.IntegerField(
                    min_value=0, required=False, initial=line.quantity if p == 0 else 0, label=label,
                    widget=forms.NumberInput(attrs={"aria-label": label}))

    def clean(self):
        from .services import duplicate_tracking

        data = super().clean()
        if not self.errors and not data.get("allow_duplicate_tracking"):
            duplicate = duplicate_tracking(self.packages())
            if duplicate:
                number, which = duplicate
                self.duplicate_tracking = True
                raise forms.ValidationError(
                    f"Packages {' and '.join(str(n) for n in which)} have the same tracking number {number}. "
                    "Correct it, or tick the box below to dispatch with the same number on purpose.")
        return data

    duplicate_tracking = False

    def grid(self):
        """Rows for the template: (line, [bound field per package])."""
        return [(line, [self[f"qty_{line.id}_{p}"] for p in range(self.package_count)]) for line in self.lines]

    def tracking_fields(self):
        return [self[f"tracking_{p}"] for p in range(self.package_count)]

    def packages(self):
        from .services import PackageSpec

        specs = []
        for p in range(self.package_count):
            lines = [(line, self.cleaned_data.get(f"qty_{line.id}_{p}") or 0) for line in self.lines]
            lines = [(line, qty) for line, qty in lines if qty > 0]
            tracking = self.cleaned_data.get(f"tracking_{p}") or ""
            if lines or tracking:
                specs.append(PackageSpec(tracking_number=tracking, lines=lines))
        return specs


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False)


class TrackingForm(forms.Form):
    """Tracking numbers for the consignment's packages that have none yet."""

    def __init__(self, *args, packages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.packages = []
        # Numbered as on the page (1, 2, 3 in the consignment), not by database id.
        for number, package in enumerate(packages, 1):
            if not package.tracking_number:
                self.packages.append(package)
                self.fields[f"tracking_{package.id}"] = forms.CharField(
                    max_length=100, required=False, label=f"Package {number} tracking number")

    def tracking(self) -> dict[int, str]:
        return {p.id: self.cleaned_data[f"tracking_{p.id}"] for p in self.packages
                if self.cleaned_data.get(f"tracking_{p.id}")}
