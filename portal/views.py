"""The local stand-ins for object storage's presigned upload and download (embedded mode)."""

from django.http import FileResponse, Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from portal.storage import LocalStore, StorageRefusal, content_disposition, evidence_store


def _local_store():
    # In S3 mode these endpoints do not exist: objects live in the bucket.
    store = evidence_store()
    if not isinstance(store, LocalStore):
        raise Http404
    return store


def _refused(refusal):
    return HttpResponse(refusal.message, status=refusal.status, content_type="text/plain")


@csrf_exempt
@require_POST
def local_upload(request):
    """The local-mode stand-in for S3's presigned POST. The signed policy is the authorisation,
    as it is for S3, so neither a session nor a CSRF token is involved."""
    store = _local_store()
    try:
        store.check_request_length(request.META.get("CONTENT_LENGTH"))
        store.receive(request.POST, request.FILES.get("file"))
    except StorageRefusal as refusal:
        return _refused(refusal)
    return HttpResponse(status=204)


@require_GET
def local_download(request, token):
    """The local-mode stand-in for S3's presigned GET: a signed, short-lived link."""
    try:
        file, filename = _local_store().open_download(token)
    except StorageRefusal as refusal:
        return _refused(refusal)
    response = FileResponse(file)
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "private, no-store"
    return response
