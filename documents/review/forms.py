"""The forms of the review pages: the queue's and the list's filters, the reason to return."""

from django import forms
from django.utils.translation import gettext_lazy as _

from documents.models import DocType, Document
from portal.forms import PeriodFilterForm

DOC_TYPE_CHOICES = [("", _("全部类型"))] + DocType.choices


class ReviewQueueForm(forms.Form):
    agency = forms.ModelChoiceField(
        label=_("服务机构"), queryset=None, required=False, empty_label=_("全部机构")
    )
    street = forms.ModelChoiceField(
        label=_("所属街道"), queryset=None, required=False, empty_label=_("全部街道镇")
    )
    doc_type = forms.ChoiceField(label=_("文书类型"), required=False, choices=DOC_TYPE_CHOICES)

    def __init__(self, *args, agencies, streets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
        self.fields["street"].queryset = streets

    def queue_arguments(self):
        data = self.cleaned_data
        return {
            "agency": data["agency"].pk if data["agency"] else None,
            "street": data["street"].pk if data["street"] else None,
            "doc_type": data["doc_type"] or None,
        }


class DocumentFilterForm(PeriodFilterForm):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部"))] + Document.Status.choices
    )
    doc_type = forms.ChoiceField(label=_("文书类型"), required=False, choices=DOC_TYPE_CHOICES)
    agency = forms.ModelChoiceField(
        label=_("服务机构"), queryset=None, required=False, empty_label=_("全部机构")
    )
    street = forms.ModelChoiceField(
        label=_("所属街道"), queryset=None, required=False, empty_label=_("全部街道镇")
    )

    def __init__(self, *args, streets, agencies=None, **kwargs):
        """The period is the signing date here; `agencies`: None for agency staff."""
        super().__init__(*args, **kwargs)
        self.fields["from"].label = _("签发日期自")
        self.fields["street"].queryset = streets
        if agencies is None:
            del self.fields["agency"]
        else:
            self.fields["agency"].queryset = agencies

    def filters(self):
        data = self.cleaned_data
        return {
            **self.period(),
            **{name: data.get(name) for name in ("status", "doc_type", "street", "agency")},
        }


class RejectForm(forms.Form):
    # Whether a reason was given is the service's rule; its refusal lands on this field.
    reason = forms.CharField(
        label=_("退回原因"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
