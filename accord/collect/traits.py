"""Traits under the Segment spec's reserved names, so data from other tools lands in the
right place; anything else is kept as given. Nested ``address`` and ``company`` objects
are flattened to dotted keys (``address.city``)."""

from __future__ import annotations

import re
from typing import Any

RESERVED = {
    "address.city",
    "address.country",
    "address.postalCode",
    "address.state",
    "address.street",
    "age",
    "avatar",
    "birthday",
    "company.name",
    "company.id",
    "company.industry",
    "company.employee_count",
    "company.plan",
    "createdAt",
    "description",
    "email",
    "firstName",
    "gender",
    "id",
    "lastName",
    "name",
    "phone",
    "title",
    "username",
    "website",
}

# Other spellings seen in CRMs, spreadsheets and other tools, by their squashed form
# (lower case, no separators).
ALIASES = {
    "firstname": "firstName",
    "givenname": "firstName",
    "forename": "firstName",
    "lastname": "lastName",
    "surname": "lastName",
    "familyname": "lastName",
    "fullname": "name",
    "email": "email",
    "emailaddress": "email",
    "mail": "email",
    "phone": "phone",
    "phonenumber": "phone",
    "mobile": "phone",
    "mobilephone": "phone",
    "cell": "phone",
    "telephone": "phone",
    "birthday": "birthday",
    "dob": "birthday",
    "dateofbirth": "birthday",
    "birthdate": "birthday",
    "gender": "gender",
    "sex": "gender",
    "street": "address.street",
    "streetaddress": "address.street",
    "address1": "address.street",
    "addressline1": "address.street",
    "addressstreet": "address.street",
    "city": "address.city",
    "town": "address.city",
    "addresscity": "address.city",
    "postalcode": "address.postalCode",
    "postcode": "address.postalCode",
    "zip": "address.postalCode",
    "zipcode": "address.postalCode",
    "addresspostalcode": "address.postalCode",
    "state": "address.state",
    "region": "address.state",
    "province": "address.state",
    "addressstate": "address.state",
    "country": "address.country",
    "addresscountry": "address.country",
    "company": "company.name",
    "companyname": "company.name",
    "organization": "company.name",
    "organisation": "company.name",
    "title": "title",
    "jobtitle": "title",
    "username": "username",
    "website": "website",
    "createdat": "createdAt",
    "signupdate": "createdAt",
    "age": "age",
    "avatar": "avatar",
}
_SQUASH = re.compile(r"[\s_\-.]+")


def canonical_trait(name: str) -> str:
    """The reserved name for ``name`` if it is one in another spelling, else ``name``."""
    if name in RESERVED:
        return name
    return ALIASES.get(_SQUASH.sub("", name).lower(), name)


def normalize_traits(traits: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (traits or {}).items():
        if key in ("address", "company") and isinstance(value, dict):
            for sub, sub_value in value.items():
                out[canonical_trait(f"{key}.{sub}")] = sub_value
            continue
        if key == "company" and isinstance(value, str):
            out["company.name"] = value
            continue
        out[canonical_trait(str(key))] = value
    return out


def is_empty(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, (str, list, dict)) and len(value) == 0)
        or (isinstance(value, str) and not value.strip())
    )
