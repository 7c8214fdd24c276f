from django import forms

from .selectors import Month


class MonthForm(forms.Form):
    month = forms.CharField(required=False, label="Month", widget=forms.TextInput(attrs={"type": "month"}),
                            help_text="YYYY-MM; this month if left empty.")

    def clean_month(self) -> Month:
        value = self.cleaned_data["month"]
        if not value:
            return Month.current()
        try:
            return Month.parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
