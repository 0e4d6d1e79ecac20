"""What every page view shares: service errors onto a form, a refusal for the state shown
as a message, fragment requests."""

from django.contrib import messages
from django.shortcuts import redirect


def form_errors(form):
    return [error for errors in form.errors.values() for error in errors]


def add_service_errors(form, error):
    """Show a service's refusal at the fields it names, the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def refused_for_state(request, refusal, url_name, **kwargs):
    # The form is gone from the page once the state forbids it, so the reason goes on top.
    messages.error(request, " ".join(refusal.messages))
    return redirect(url_name, **kwargs)


def wants_fragment(request):
    # The checklist script asks for the answered item's HTML to swap in place.
    return request.headers.get("X-Requested-With") == "fetch"
