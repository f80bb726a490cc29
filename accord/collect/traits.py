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
    "middlename": "middleName",
    "middle": "middleName",
    "middleinitial": "middleName",
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
    "streetname": "address.street",
    "streetnumber": "address.number",
    "housenumber": "address.number",
    "streetno": "address.number",
    "houseno": "address.number",
    "unitnumber": "address.unit",
    "apartment": "address.unit",
}
_SQUASH = re.compile(r"[\s_\-.]+")

# An address's parts under the name of the address they belong to: a mailing list's
# ``mailing_address_zipcode`` is the person's postal code.
_ADDRESS_OWNERS = (
    "mailingaddress",
    "postaladdress",
    "homeaddress",
    "residentialaddress",
    "residenceaddress",
    "primaryaddress",
    "address",
    "mailing",
    "residence",
    "home",
)
_ADDRESS_PARTS = {
    "street": "address.street",
    "streetname": "address.street",
    "streetaddress": "address.street",
    "line1": "address.street",
    "1": "address.street",
    "number": "address.number",
    "streetnumber": "address.number",
    "housenumber": "address.number",
    "unit": "address.unit",
    "unitnumber": "address.unit",
    "city": "address.city",
    "town": "address.city",
    "zip": "address.postalCode",
    "zipcode": "address.postalCode",
    "postcode": "address.postalCode",
    "postalcode": "address.postalCode",
    "state": "address.state",
    "province": "address.state",
    "region": "address.state",
    "country": "address.country",
}


def _address_part(squashed: str) -> str | None:
    for owner in _ADDRESS_OWNERS:
        if squashed.startswith(owner) and squashed != owner:
            return _ADDRESS_PARTS.get(squashed[len(owner) :])
    return None


def canonical_trait(name: str) -> str:
    """The reserved name for ``name`` if it is one in another spelling, else ``name``."""
    if name in RESERVED:
        return name
    squashed = _SQUASH.sub("", name).lower()
    return ALIASES.get(squashed) or _address_part(squashed) or name


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
