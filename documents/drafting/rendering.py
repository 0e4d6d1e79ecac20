"""Turning a stored template version and a document's context into DOCX bytes.

Templates are uploaded by admins, so they are rendered in a sandbox: no attribute starting
with an underscore, no access to anything but the context (plain JSON), autoescaped text, and
a fresh DocxTemplate for every render (docxtpl keeps state between renders)."""

import io
import logging
import threading
from collections import OrderedDict
from functools import lru_cache

from django.utils import timezone
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import ChainableUndefined, StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from documents.drafting.contexts import chinese_date
from documents.models import DocumentTemplate
from portal.storage import evidence_store

logger = logging.getLogger(__name__)

PHOTO_WIDTH = Mm(45)


class TemplateProblem(Exception):
    """A template that cannot render: `problems` lists each undefined name or syntax error."""

    def __init__(self, problems):
        super().__init__("; ".join(problems))
        self.problems = problems


class _RecordingUndefined(ChainableUndefined):
    """Renders as nothing and remembers each undefined or unsafe name, so that a check lists
    them all instead of stopping at the first."""

    missing = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self._undefined_name is not None:
            unsafe = self._undefined_exception is SecurityError
            self.missing.add(("unsafe" if unsafe else "undefined", self._undefined_name))


class _CompiledOnce(SandboxedEnvironment):
    """Compiling a part's XML is most of a render; template versions never change, so each
    part's source is compiled once per process and kept (the least recently used dropped)."""

    CACHE_SIZE = 64

    def __init__(self, **options):
        super().__init__(**options)
        self._compiled = OrderedDict()
        self._lock = threading.Lock()

    def from_string(self, source, globals=None, template_class=None):
        if globals or template_class:
            return super().from_string(source, globals, template_class)
        with self._lock:
            if source in self._compiled:
                self._compiled.move_to_end(source)
                return self._compiled[source]
        compiled = super().from_string(source)
        with self._lock:
            self._compiled[source] = compiled
            while len(self._compiled) > self.CACHE_SIZE:
                self._compiled.popitem(last=False)
        return compiled


_RENDERING = _CompiledOnce(autoescape=True, undefined=StrictUndefined)


def _environment(undefined):
    return SandboxedEnvironment(autoescape=True, undefined=undefined)


def _with_images(template, context, photos):
    """Give each photo entry ({"key", ...}) an InlineImage of its bytes from `photos`; the
    entries `photos` lacks are left out."""
    photos = photos or {}
    if not any(hazard.get("photos") for hazard in context.get("hazards", [])):
        return context
    rendered = dict(context)
    rendered["hazards"] = [
        {
            **hazard,
            "photos": [
                {
                    **photo,
                    "image": InlineImage(
                        template, io.BytesIO(photos[photo["key"]]), width=PHOTO_WIDTH
                    ),
                }
                for photo in hazard.get("photos", [])
                if photo["key"] in photos
            ],
        }
        for hazard in context.get("hazards", [])
    ]
    return rendered


def render_docx(content, context, *, photos=None):
    """DOCX bytes of template `content` rendered with `context`. `photos` maps the evidence
    keys named in the context to image bytes; photos it lacks are left out."""
    template = DocxTemplate(io.BytesIO(bytes(content)))
    try:
        template.render(
            _with_images(template, context, photos), jinja_env=_RENDERING, autoescape=True
        )
    except TemplateError as error:
        raise TemplateProblem([_describe(error)]) from error
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def _describe(error):
    line = getattr(error, "lineno", None)
    message = getattr(error, "message", None) or str(error)
    return f"{type(error).__name__}: {message}" + (f" (line {line})" if line else "")


def check_template(content, sample_contexts):
    """The problems that stop `content` from rendering each of `sample_contexts`: every
    undefined name, unsafe access and syntax error, by name; empty when it renders."""
    problems = []
    try:
        DocxTemplate(io.BytesIO(bytes(content))).get_docx()
    except Exception as error:  # noqa: BLE001 - any unreadable file is refused with its reason
        return [f"not a .docx file: {error}"]
    for context in sample_contexts:
        missing = set()
        undefined = type("Recording", (_RecordingUndefined,), {"missing": missing})
        template = DocxTemplate(io.BytesIO(bytes(content)))
        try:
            template.render(context, jinja_env=_environment(undefined), autoescape=True)
        except TemplateError as error:
            problems.append(_describe(error))
        problems.extend(f"{kind}: {name}" for kind, name in sorted(missing))
        if problems:
            break
    return list(dict.fromkeys(problems))


@lru_cache(maxsize=32)
def template_content(template_id):
    """The .docx bytes of a template version: versions never change, so they are read once."""
    return bytes(DocumentTemplate.objects.values_list("content", flat=True).get(pk=template_id))


def final_context(document):
    """The stored context with what approval adds: number, date and approver."""
    approver = document.approved_by
    return {
        **document.context,
        "document": {
            **document.context["document"],
            "number": document.number,
            "date": chinese_date(timezone.localdate(document.approved_at)),
            "approver": (approver.full_name or approver.username) if approver else "",
        },
    }


def document_photos(document):
    """The thumbnails a document's context names, read from object storage."""
    keys = {
        photo["key"]
        for hazard in document.context.get("hazards", [])
        for photo in hazard.get("photos", [])
    }
    store = evidence_store()
    photos = {}
    for key in sorted(keys):
        # A thumbnail purged from storage leaves its photo out rather than the document.
        if store.size_of(key) is None:
            logger.warning("thumbnail %s named by a document is missing", key)
            continue
        photos[key] = b"".join(store.chunks(key))
    return photos


def render_document(document):
    """DOCX bytes of `document` as it reads now: final once approved, else the draft."""
    context = final_context(document) if document.number else document.context
    return render_docx(
        template_content(document.template_id), context, photos=document_photos(document)
    )
