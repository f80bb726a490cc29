"""Name knowledge the matcher uses: nicknames and their formal names, and the clean-up
of names, streets, postcodes, dates and contact values before comparison."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# Formal name -> the nicknames and short forms commonly used for it. A nickname that
# belongs to several names (Alex, Sam, Chris) maps to the first listed here.
FORMAL_NICKNAMES: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "alexander": ("alex", "al", "sasha", "xander"),
    "alexandra": ("alexa", "lexi", "sandra", "sasha"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony",),
    "barbara": ("barb", "babs"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cathy", "cat", "kate", "katie"),
    "charles": ("charlie", "chuck", "chas"),
    "christina": ("tina", "chrissy"),
    "christopher": ("chris", "topher", "kit"),
    "cynthia": ("cindy",),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("debbie", "deb"),
    "donald": ("don", "donnie"),
    "dorothy": ("dot", "dottie"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "elizabeth": ("liz", "beth", "betty", "lizzie", "eliza", "libby"),
    "emily": ("em", "emmy"),
    "frances": ("fran", "frankie"),
    "francis": ("frank",),
    "frederick": ("fred", "freddie"),
    "gabriel": ("gabe",),
    "gregory": ("greg",),
    "henry": ("hank", "harry"),
    "isabella": ("bella", "izzy", "isabel"),
    "jacob": ("jake",),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "john": ("johnny", "jack", "jon"),
    "jonathan": ("jonny", "nate"),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "katherine": ("kathy", "katy", "kat", "kay", "kitty"),
    "kathleen": ("kath",),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry",),
    "leonard": ("leo", "len", "lenny"),
    "margaret": ("maggie", "meg", "peggy", "marge", "greta"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mikey", "mick"),
    "nathaniel": ("nat", "nathan"),
    "nicholas": ("nick", "nicky"),
    "olivia": ("liv", "livvy"),
    "patricia": ("pat", "patty", "tricia", "trish"),
    "patrick": ("paddy",),
    "peter": ("pete",),
    "philip": ("phil",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "ricky", "dick", "rich"),
    "robert": ("rob", "bob", "bobby", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammie"),
    "samuel": ("sammy",),
    "stephen": ("steve", "stevie"),
    "steven": ("steve",),
    "susan": ("sue", "susie"),
    "theodore": ("theo", "teddy"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori"),
    "vincent": ("vince", "vinny"),
    "walter": ("walt",),
    "william": ("will", "bill", "billy", "willie", "liam"),
    "zachary": ("zach", "zack"),
}

NICKNAME_TO_FORMAL: dict[str, str] = {}
for _formal, _nicks in FORMAL_NICKNAMES.items():
    for _nick in _nicks:
        NICKNAME_TO_FORMAL.setdefault(_nick, _formal)
# Every first name the list above holds, formal or nickname.
LISTED_FIRST_NAMES = frozenset(FORMAL_NICKNAMES) | frozenset(NICKNAME_TO_FORMAL)

STREET_WORDS = {
    "street": "st",
    "str": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "boulevard": "blvd",
    "court": "ct",
    "place": "pl",
    "terrace": "ter",
    "highway": "hwy",
    "parkway": "pkwy",
    "square": "sq",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "apartment": "apt",
    "suite": "ste",
}

_NOT_LETTERS = re.compile(r"[^a-z ]+")
_NOT_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D+")


def fold(text: str) -> str:
    """Lower case without accents: 'José' -> 'jose'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def clean_name(value: object) -> str | None:
    if value is None:
        return None
    text = _SPACES.sub(" ", _NOT_LETTERS.sub(" ", fold(str(value)).replace("'", ""))).strip()
    return text or None


_GENDERS = {
    "m": "m",
    "male": "m",
    "man": "m",
    "boy": "m",
    "f": "f",
    "female": "f",
    "woman": "f",
    "girl": "f",
}
_NO_GENDER = {"", "u", "unknown", "not known", "prefer not to say", "none", "na", "n a"}


def clean_gender(value: object) -> str | None:
    """A gender as ``m`` or ``f`` where it is one of their usual spellings, another one as
    written (lower case); nothing where it says it is not known."""
    if value is None:
        return None
    text = _SPACES.sub(" ", _NOT_LETTERS.sub(" ", fold(str(value)))).strip()
    if text in _NO_GENDER:
        return None
    return _GENDERS.get(text, text)


# What forms and clerks write where a name is not known, or instead of it (a title, a
# relationship, "baby boy"), cleaned: not a name, so no evidence either way.
PLACEHOLDER_NAMES = frozenset(
    {
        "unknown",
        "not known",
        "dont know",
        "do not know",
        "no name",
        "noname",
        "none",
        "null",
        "nil",
        "na",
        "n a",
        "nn",
        "anonymous",
        "anon",
        "blank",
        "test",
        "xxx",
        "xx",
        "x",
        "guest",
        "customer",
        "client",
        "resident",
        "current resident",
        "occupant",
        "household",
        "head of household",
        "of house",
        "lady of house",
        "lady of the house",
        "lady of the",
        "man of the house",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "sir",
        "madam",
        "baby",
        "baby boy",
        "baby girl",
        "infant",
        "newborn",
        "child",
        "male child",
        "female child",
        "kid",
        "boy",
        "girl",
        "male",
        "female",
        "daughter",
        "wife",
        "husband",
        "brother",
        "mother",
        "father",
        "granddaughter",
        "grandson",
        "grandchild",
        "stepson",
        "stepdaughter",
        "spouse",
        "refused",
        # Written on census forms and mailing lists in place of a name (the Census
        # Bureau's person validation reports list them): a role in the home, a title,
        # a refusal. Those that are also people's names (Person, House, Minor, Son,
        # Nina...) are left out.
        "gentleman",
        "gentlemen",
        "gentelman",
        "gentleman of",
        "adult",
        "adult male",
        "adult female",
        "respondent",
        "respondant",
        "resp",
        "youngest",
        "oldest",
        "inmate",
        "nephew",
        "niece",
        "sister",
        "son of",
        "daughter of",
        "mom",
        "dad",
        "hijo",
        "hija",
        "senor",
        "senora",
        "woman",
        "lady",
        "lady of",
        "lady in the",
        "man in the",
        "man of",
        "man of the",
        "home",
        "homeowner",
        "householder",
        "of the house",
        "the house",
        "of the home",
        "first name",
        "last name",
        "no last name",
        "apellido",
        "casa",
        "de casa",
        "de la casa",
        "declined",
        "refuse",
        "unk",
        "hh",
        "hhm",
        "goh",
        "doh",
        "soh",
        "loh",
        "moh",
        "coh",
    }
)


def person_name(value: object) -> str | None:
    """A name cleaned for comparison; nothing where it is a placeholder."""
    cleaned = clean_name(value)
    return None if cleaned is None or cleaned in PLACEHOLDER_NAMES else cleaned


@lru_cache(maxsize=1)
def _name_list() -> Any:
    """The ``nicknames`` package's curated list of English names and their nicknames
    (some 1,400 nicknames, many of several names: Al is Albert, Alan or Alexander)."""
    from nicknames import NickNamer

    return NickNamer()


@lru_cache(maxsize=100_000)
def formal_names(head: str) -> frozenset[str]:
    """Every formal name ``head`` is a nickname of, by the list above and the package's."""
    found = set(_name_list().canonicals_of(head))
    if head in NICKNAME_TO_FORMAL:
        found.add(NICKNAME_TO_FORMAL[head])
    return frozenset(found)


@lru_cache(maxsize=100_000)
def known_first_name(first: str) -> bool:
    """Whether a first name is in either list, as a formal name or a nickname (an
    unknown one is likelier a typo)."""
    if first in LISTED_FIRST_NAMES:
        return True
    found = _name_list()
    return bool(found.nicknames_of(first) or found.canonicals_of(first))


def formal_name(first: str | None) -> str | None:
    """The formal form of a first name by the list above: 'bill' -> 'william'; others
    unchanged. (The package's list relates names both ways, Daniel to Danny as Danny to
    Daniel: it says two names may be one, not which is the formal one.)"""
    if not first:
        return None
    head = first.split(" ")[0]
    return NICKNAME_TO_FORMAL.get(head, head)


def formal_key(first: str | None) -> str | None:
    """The formal names a first name is a nickname of, as ``|name|name|`` (sorted): a
    comparison finds the other record's name in it."""
    if not first:
        return None
    found = formal_names(first.split(" ")[0])
    return "|" + "|".join(sorted(found)) + "|" if found else None


def clean_street(value: object) -> str | None:
    if value is None:
        return None
    words = _NOT_WORD.sub(" ", fold(str(value))).split()
    text = " ".join(STREET_WORDS.get(w, w) for w in words)
    return text or None


def street_name(street: str | None) -> str | None:
    """A cleaned street without its house number: '12 oak st' -> 'oak st'."""
    if not street:
        return None
    words = [w for w in street.split() if not any(ch.isdigit() for ch in w)]
    return " ".join(words) or None


def clean_id(value: object) -> str | None:
    """A customer, member or national number: its letters and digits, upper case; too
    short to name anyone is none."""
    if value is None:
        return None
    text = re.sub(r"[^A-Z0-9]", "", fold(str(value)).upper())
    return text if len(text) >= 4 else None


def clean_postcode(value: object) -> str | None:
    if value is None:
        return None
    text = re.sub(r"[^A-Z0-9]", "", str(value).upper())
    if text.isdigit() and len(text) == 9:  # US ZIP+4
        text = text[:5]
    return text or None


def clean_city(value: object) -> str | None:
    if value is None:
        return None
    text = _SPACES.sub(" ", _NOT_LETTERS.sub(" ", fold(str(value)))).strip()
    return text or None


def clean_email(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text if "@" in text else None


def clean_phone(value: object) -> str | None:
    if value is None:
        return None
    digits = _DIGITS.sub("", str(value))
    return digits if len(digits) >= 7 else None


_ISO_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})[-/.](\d{1,2})|(\d{2})(\d{2}))(?:$|[T ])")
_YEAR_LAST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$|^(\d{2})(\d{2})(\d{4})$")
_YEARS = range(1800, 2201)

# Countries whose dates are written month first (12/31/1980); elsewhere the day leads.
MONTH_FIRST_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM", "PH", "FM", "MH", "PW"})


def _year_last(text: str) -> tuple[str, str, str] | None:
    """(first part, second part, year) of a date written with its year last, with
    separators or as eight digits (``31121980``)."""
    found = _YEAR_LAST.match(text)
    if found is None:
        return None
    a, b, year, a8, b8, year8 = found.groups()
    return (a, b, year) if year is not None else (a8, b8, year8)


def date_order(value: object) -> str | None:
    """How a date written with its year last shows the order of its parts: ``"dmy"``
    when the first part is over 12, ``"mdy"`` when the second is, ``"?"`` when either
    could be the month; None for any other form."""
    if value is None:
        return None
    text = str(value).strip()
    parts = None if _iso_parts(text) is not None else _year_last(text)
    if parts is None:
        return None
    first, second = int(parts[0]), int(parts[1])
    if first > 12 >= second:
        return "dmy"
    if second > 12 >= first:
        return "mdy"
    return "?" if first <= 12 and second <= 12 else None


def _iso_parts(text: str) -> tuple[str, str, str] | None:
    found = _ISO_DATE.match(text)
    if found is None:
        return None
    year, month, day, month8, day8 = found.groups()
    if int(year) not in _YEARS:  # eight digits that are not year first: 31121980
        return None
    return (year, month, day) if month is not None else (year, month8, day8)


def clean_date(value: object, *, month_first: bool = False) -> str | None:
    """A date of birth as ``yyyy-mm-dd``, from ISO (with or without separators, a time
    after it ignored) or with the year last (``17/05/1980``, ``17051980``): read day
    first, or month first when ``month_first`` or when the day is plainly second
    (``12/31/1980``). A value with the shape of a date but no such day in the calendar
    (a typed 31st of February, a month 13) is kept in that form: its digits are still
    evidence."""
    if value is None:
        return None
    text = str(value).strip()
    iso = _iso_parts(text)
    if iso is not None:
        year, month, day = iso
    else:
        other = _year_last(text)
        if other is None:
            return None
        day, month, year = other
        if (month_first and int(day) <= 12) or int(month) > 12 >= int(day):
            day, month = month, day
    if int(year) not in _YEARS or not 0 < int(month) < 100 or not 0 < int(day) < 100:
        return None
    return f"{year}-{int(month):02d}-{int(day):02d}"
