"""What the console's form handlers share: a form's validation errors in the API's
terms, so a page shows each beside its field and a script reads them as JSON."""

from __future__ import annotations

from pydantic import ValidationError

from accord.kit.errors import AccordError, FieldError


def form_error(error: ValidationError) -> AccordError:
    """A form's pydantic errors as the API reports them (422, each field named)."""
    fields = [
        FieldError(".".join(str(p) for p in e["loc"]) or "form", e["type"], e["msg"])
        for e in error.errors()
    ]
    first = fields[0]
    return AccordError(
        f"{first.field}: {first.message}",
        code="validation_error",
        status=422,
        field=first.field,
        errors=fields,
    )
