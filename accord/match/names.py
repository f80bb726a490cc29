"""Name knowledge the matcher uses: nicknames and their formal names, and the clean-up
of names, streets, postcodes, dates and contact values before comparison."""

from __future__ import annotations

import re
import unicodedata

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


def formal_name(first: str | None) -> str | None:
    """The formal form of a first name: 'bill' -> 'william'; others unchanged."""
    if not first:
        return None
    head = first.split(" ")[0]
    return NICKNAME_TO_FORMAL.get(head, head)


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
_DAY_FIRST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def clean_date(value: object) -> str | None:
    """A date of birth as ``yyyy-mm-dd``, from ISO (with or without separators, a time
    after it ignored) or day/month/year (month first when the day is plainly second).
    A value with the shape of a date but no such day in the calendar (a typed 31st of
    February, a month 13) is kept in that form: its digits are still evidence."""
    if value is None:
        return None
    text = str(value).strip()
    found = _ISO_DATE.match(text)
    if found is not None:
        year, month, day, month8, day8 = found.groups()
        month, day = (month, day) if month is not None else (month8, day8)
    else:
        other = _DAY_FIRST.match(text)
        if other is None:
            return None
        day, month, year = other.groups()
        if int(month) > 12 >= int(day):  # 12/31/1980: month first
            day, month = month, day
    if not 1800 <= int(year) <= 2200 or not 0 < int(month) < 100 or not 0 < int(day) < 100:
        return None
    return f"{year}-{int(month):02d}-{int(day):02d}"
