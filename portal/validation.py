"""Checks shared by every service: field errors gathered into one ValidationError, and the
refusal of an action the state does not allow."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def require_known_fields(fields, known, what):
    """A caller's programming error, not bad input: a service asked to change a field it does
    not change."""
    unknown = set(fields) - set(known)
    if unknown:
        raise TypeError(f"not {what} field: {', '.join(sorted(unknown))}")


def add_error(errors, field, message):
    errors.setdefault(field, []).append(message)


def check_choice(errors, field, value, choices, label):
    if value in (None, ""):
        add_error(errors, field, _("请选择%(label)s。") % {"label": label})
    elif value not in choices.values:
        add_error(errors, field, _("未知的%(label)s：%(value)s") % {"label": label, "value": value})


def full_clean_into(errors, instance, relations):
    """Model validation (lengths, dates, decimals) for the fields not already in error; it also
    turns strings into the fields' types."""
    try:
        instance.full_clean(
            exclude=[*relations, *errors], validate_unique=False, validate_constraints=False
        )
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)


class InvalidTransition(ValidationError):
    """The object is not in a state that allows the action (the API answers 409): a submitted
    inspection is read-only, a verified hazard cannot be rectified again, a signed document
    cannot be returned."""
