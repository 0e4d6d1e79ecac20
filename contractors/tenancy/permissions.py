"""The object permissions on firms: `view_firm` (see it) and `inspect_firm` (work there)."""

from django.contrib.auth.models import Permission

FIRM_PERMISSIONS = ("view_firm", "inspect_firm")


def firm_permissions():
    """{codename: Permission} for the firm permissions, in one query."""
    permissions = Permission.objects.filter(
        content_type__app_label="contractors",
        content_type__model="firm",
        codename__in=FIRM_PERMISSIONS,
    )
    return {permission.codename: permission for permission in permissions}
