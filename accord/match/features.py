"""Records made comparable: raw person fields (from a profile's golden record or a
generated population) cleaned, with the derived columns the comparisons and blocking
rules use (formal first name, phonetic codes, the year and the day of a birth, ZIP area,
email user, phone tail)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import jellyfish
import pyarrow as pa
import pyarrow.compute as pc

from accord.match import names

RAW_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "dob",
    "street",
    "city",
    "postcode",
    "email",
    "phone",
    "id_number",
    "gender",
)
COLUMNS = (
    "unique_id",
    "first_name",
    "last_name",
    "first_formal",
    "first_formals",
    "first_initial",
    "first_sound",
    "middle_name",
    "middle_initial",
    "last_sound",
    "last_initial",
    "dob",
    "birth_year",
    "birth_md",
    "street",
    "house",
    "street_name",
    "city",
    "postcode",
    "zip3",
    "email",
    "email_user",
    "phone",
    "id_number",
    "gender",
)
MONTH_FIRST_KEY = b"accord.month_first"
# Records one home's address holds at most: a family of six with several records each.
HOME_MAX = 50
# The profile trait each raw field is read from.
TRAIT_OF = {
    "first_name": "firstName",
    "middle_name": "middleName",
    "last_name": "lastName",
    "dob": "birthday",
    "street": "address.street",
    "city": "address.city",
    "postcode": "address.postalCode",
    "email": "email",
    "phone": "phone",
    "gender": "gender",
}


# Traits named as a number that names one person in a national register usually is (keys
# compared in lower case without separators): with no ``id_traits`` set, these are the
# id number. Customer and member numbers are not among them, since a family may share
# one: a workspace names those in ``settings.match.id_traits``.
PERSONAL_ID_KEYS = frozenset(
    {
        "idnumber",
        "personalid",
        "personalnumber",
        "nationalid",
        "nationalidnumber",
        "nationalnumber",
        "nationalinsurancenumber",
        "nin",
        "ssn",
        "socsecid",
        "socialsecuritynumber",
        "sin",
        "socialinsurancenumber",
        "taxid",
        "tin",
        "passportnumber",
    }
)


def trait_key(name: str) -> str:
    """A trait or column name compared as people write it: lower case, no separators."""
    return re.sub(r"[\s._\-]+", "", name.strip().lower())


def personal_id_traits(traits: Iterable[str]) -> list[str]:
    """The traits among ``traits`` named as a personal id number, in name order."""
    return sorted(t for t in traits if trait_key(t) in PERSONAL_ID_KEYS)


# Traits that hold a house number kept apart from the street (joined to it to compare).
HOUSE_NUMBER_TRAITS = (
    "address.number",
    "address.houseNumber",
    "address.streetNumber",
    "houseNumber",
    "streetNumber",
    "street_number",
)


@lru_cache(maxsize=200_000)
def _name(value: str) -> str | None:
    return names.person_name(value)


@lru_cache(maxsize=200_000)
def _sound(value: str) -> str | None:
    code = jellyfish.metaphone(value.replace(" ", ""))
    return code or None


def _cached(fn: Callable[[object], str | None]) -> Callable[[object], str | None]:
    cache: dict[object, str | None] = {}

    def run(value: object) -> str | None:
        if value is None:
            return None
        if value not in cache:
            if len(cache) > 500_000:
                cache.clear()
            cache[value] = fn(value)
        return cache[value]

    return run


def month_first_of(table: pa.Table) -> bool | None:
    """How ``prepare`` read the table's dates of birth written with the year last."""
    meta = table.schema.metadata or {}
    value = meta.get(MONTH_FIRST_KEY)
    return None if value is None else value == b"1"


def prepare(
    rows: Iterable[Mapping[str, Any]],
    *,
    month_first: bool | None = None,
    region: str | None = None,
) -> pa.Table:
    """Rows with ``unique_id`` and RAW_FIELDS -> the comparison table.

    Dates of birth written with the year last are read month first or day first as
    ``month_first`` says; when it is None, as the dates themselves show (how many have
    a first part over 12 against a second part over 12), and where none shows it, as
    the workspace's ``region`` writes dates. ``month_first_of`` tells what was chosen."""
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    order = _cached(names.date_order)
    shown = {"dmy": 0, "mdy": 0}
    either: list[int] = []  # rows whose date reads both ways
    street = _cached(names.clean_street)
    city = _cached(names.clean_city)
    postcode = _cached(names.clean_postcode)
    dob = _cached(names.clean_date)
    phone = _cached(names.clean_phone)
    id_number = _cached(names.clean_id)
    for row in rows:
        first = _name(str(row["first_name"])) if row.get("first_name") else None
        middle = _name(str(row["middle_name"])) if row.get("middle_name") else None
        last = _name(str(row["last_name"])) if row.get("last_name") else None
        email = names.clean_email(row.get("email"))
        zipcode = postcode(row.get("postcode"))
        cols["unique_id"].append(str(row["unique_id"]))
        cols["first_name"].append(first)
        cols["last_name"].append(last)
        cols["first_formal"].append(names.formal_name(first))
        cols["first_formals"].append(names.formal_key(first))
        cols["first_initial"].append(first[0] if first else None)
        cols["first_sound"].append(_sound(first) if first else None)
        cols["middle_name"].append(middle)
        cols["middle_initial"].append(middle[0] if middle else None)
        cols["last_sound"].append(_sound(last) if last else None)
        cols["last_initial"].append(last[0] if last else None)
        born = dob(row.get("dob"))
        cols["dob"].append(born)
        if born is not None:
            how = order(row.get("dob"))
            if how == "?":
                either.append(len(cols["dob"]) - 1)
            elif how is not None:
                shown[how] += 1
        cleaned = street(row.get("street"))
        cols["street"].append(cleaned)
        # A street with its house number names a home; a street alone, a neighbourhood.
        cols["house"].append(cleaned if cleaned and any(c.isdigit() for c in cleaned) else None)
        cols["street_name"].append(names.street_name(cleaned))
        cols["city"].append(city(row.get("city")))
        cols["postcode"].append(zipcode)
        cols["zip3"].append(zipcode[:3] if zipcode and len(zipcode) >= 3 else None)
        cols["email"].append(email)
        cols["email_user"].append(email.split("@", 1)[0] if email else None)
        cols["phone"].append(phone(row.get("phone")))
        cols["id_number"].append(id_number(row.get("id_number")))
        cols["gender"].append(names.clean_gender(row.get("gender")))
    # An address more records share than a home holds is a building (a dormitory, a care
    # home, barracks): its people are neighbours, not a household.
    # (A house is one in its postcode, or its town: 12 Main St is in many.)
    homes = [
        (h, p or c) if h is not None else None
        for h, p, c in zip(cols["house"], cols["postcode"], cols["city"], strict=True)
    ]
    counts = Counter(h for h in homes if h is not None)
    crowded = {h for h, n in counts.items() if n > HOME_MAX}
    if crowded:
        cols["house"] = [
            None if k in crowded else h for h, k in zip(cols["house"], homes, strict=True)
        ]
    if month_first is None:
        month_first = (
            shown["mdy"] > shown["dmy"]
            if shown["mdy"] != shown["dmy"]
            else (region or "").upper() in names.MONTH_FIRST_REGIONS
        )
    if month_first:
        for i in either:  # read day first above: the month leads instead
            born = cols["dob"][i]
            cols["dob"][i] = f"{born[:4]}-{born[8:10]}-{born[5:7]}"
    # A date typed wrong is mostly wrong in one part: the others still block it.
    cols["birth_year"] = [b[:4] if b else None for b in cols["dob"]]
    cols["birth_md"] = [b[5:] if b else None for b in cols["dob"]]
    table = pa.table({c: pa.array(v, type=pa.string()) for c, v in cols.items()})
    return table.replace_schema_metadata({MONTH_FIRST_KEY: b"1" if month_first else b"0"})


def from_traits(
    profile_id: str,
    traits: Mapping[str, Any],
    email: str | None,
    phone: str | None,
    id_traits: Iterable[str] = (),
) -> dict[str, Any]:
    """A profile's golden record as a raw matching row. ``id_traits`` name the traits
    that hold a number naming the person in another system (the first one filled in is
    the row's ``id_number``); with none named, the traits named as a personal id number
    (``PERSONAL_ID_KEYS``)."""
    row: dict[str, Any] = {"unique_id": profile_id}
    for field, trait in TRAIT_OF.items():
        entry = traits.get(trait)
        row[field] = entry.get("value") if isinstance(entry, Mapping) else None
    number = next(
        (
            entry.get("value")
            for trait in HOUSE_NUMBER_TRAITS
            if isinstance(entry := traits.get(trait), Mapping) and entry.get("value")
        ),
        None,
    )
    if number and row.get("street") and not any(c.isdigit() for c in str(row["street"])):
        row["street"] = f"{number} {row['street']}"
    row["id_number"] = None
    for trait in list(id_traits) or personal_id_traits(traits):
        entry = traits.get(trait)
        value = entry.get("value") if isinstance(entry, Mapping) else None
        if value not in (None, ""):
            row["id_number"] = value
            break
    if not row.get("first_name") and not row.get("last_name"):
        full = traits.get("name")
        value = full.get("value") if isinstance(full, Mapping) else None
        if isinstance(value, str) and value.strip():
            parts = value.strip().split()
            row["first_name"] = parts[0]
            row["last_name"] = " ".join(parts[1:]) or None
    row["email"] = row.get("email") or email
    row["phone"] = phone or row.get("phone")
    return row


def present(table: pa.Table, minimum: float = 0.01) -> set[str]:
    """The columns filled in often enough to compare on."""
    n = max(table.num_rows, 1)
    out = set()
    for name in COLUMNS:
        filled = n - table.column(name).null_count
        if filled >= 2 and filled / n >= minimum:
            out.add(name)
    return out


def filled(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """The rows of ``table`` where none of ``columns`` is empty."""
    mask = None
    for name in columns:
        valid = pc.is_valid(table.column(name))
        mask = valid if mask is None else pc.and_(mask, valid)
    return table if mask is None else table.filter(mask)


def counts_of(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """Each combination of ``columns``' values (none empty) with how many records hold
    it (``count_all``)."""
    names = list(columns)
    return filled(table.select(names), names).group_by(names).aggregate([([], "count_all")])
