"""Who sees which statistics, and the filters of a period (dashboard, API, exports)."""

from dataclasses import dataclass
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contractors.register.models import Street
from contractors.tenancy.models import Agency
from portal.access import require_role
from portal.models import Role

STATS_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_REVIEWER, Role.AGENCY_MANAGER)
DATE_FORMAT = "%Y-%m-%d"


def default_period():
    today = timezone.localdate()
    return date(today.year, 1, 1), today


# --- Who sees what, and for which period -------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a reader may count: the whole bureau, or one agency's work (an agency manager)."""

    bureau: object
    agency: object = None


def scope_of(user):
    """The scope of `user`'s figures: the bureau for its staff, the own agency for an agency
    manager; 403 for everyone else."""
    membership = require_role(user, *STATS_ROLES)
    if membership.is_agency_staff:
        return Scope(bureau=membership.bureau, agency=membership.agency)
    return Scope(bureau=membership.bureau)


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    street: Street = None
    agency: Agency = None

    def query(self):
        """The filters as query parameters, for links and exports."""
        params = {
            "from": self.date_from.strftime(DATE_FORMAT),
            "to": self.date_to.strftime(DATE_FORMAT),
        }
        if self.street:
            params["street"] = str(self.street.pk)
        if self.agency:
            params["agency"] = str(self.agency.pk)
        return params


class KnownChoice(forms.ModelChoiceField):
    """A choice by id, where a malformed id is as unknown as a missing one: the reader is told
    the same reason for both."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class StatsFilterForm(forms.Form):
    """The period and the filters, from a query string; each problem in Chinese on its field.
    A missing or empty date takes the default period's."""

    def __init__(self, data, *, streets, agencies):
        """`data`: a QueryDict; `streets`, `agencies`: the choices a reader may filter by."""
        start, end = default_period()
        data = data.copy()
        for name, default in (("from", start), ("to", end)):
            if not data.get(name):
                data[name] = default.strftime(DATE_FORMAT)
        super().__init__(data)
        for name, label in (("from", gettext_lazy("开始日期")), ("to", gettext_lazy("结束日期"))):
            self.fields[name] = forms.DateField(
                label=label,
                input_formats=[DATE_FORMAT],
                widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
                error_messages={"invalid": _("日期格式不正确，应为 YYYY-MM-DD，例如 2020-10-31。")},
            )
        self.fields["street"] = KnownChoice(
            label=gettext_lazy("街道镇"),
            queryset=streets,
            required=False,
            empty_label=gettext_lazy("全部街道镇"),
            error_messages={"invalid_choice": _("没有这个街道镇。")},
        )
        self.fields["agency"] = KnownChoice(
            label=gettext_lazy("服务机构"),
            queryset=agencies,
            required=False,
            empty_label=gettext_lazy("全部服务机构"),
            error_messages={"invalid_choice": _("没有这个服务机构。")},
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", _("结束日期不能早于开始日期。"))
        return data

    def filters(self):
        data = self.cleaned_data
        return Filters(
            date_from=data["from"],
            date_to=data["to"],
            street=data["street"],
            agency=data["agency"],
        )


def filter_form(scope, data):
    """The filter form of a reader with `scope`: the bureau's streets; the bureau's agencies
    for its staff, and only its own for an agency manager (another agency is unknown to it)."""
    agencies = Agency.objects.filter(bureau=scope.bureau).order_by("name")
    if scope.agency is not None:
        agencies = agencies.filter(pk=scope.agency.pk)
    return StatsFilterForm(
        data,
        streets=Street.objects.filter(bureau=scope.bureau).order_by("code"),
        agencies=agencies,
    )
