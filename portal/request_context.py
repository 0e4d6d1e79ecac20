"""Where the current request comes from, for audit events written deep inside services."""

from contextvars import ContextVar

client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def client_ip_of(request):
    if request.META.get("HTTP_X_FORWARDED_FOR") and _trust_proxy():
        return request.META["HTTP_X_FORWARDED_FOR"].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


def _trust_proxy():
    from django.conf import settings

    return settings.SECURE_PROXY_SSL_HEADER is not None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = client_ip.set(client_ip_of(request))
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)
