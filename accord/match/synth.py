"""Synthetic customer populations with known truth, for measuring the matcher.

Each person gets one to five records, as different systems would hold them: an online
account (everything), a store till (name and postcode), a CRM contact (name, address,
phone, date of birth) and a call-center contact (name and phone). Records carry the
errors real data has: typos, nicknames, first and last name swapped, dates of birth
mistyped or with day and month swapped, people who moved (new address, sometimes a
new phone), missing fields. The ``households`` population adds families at one address
sharing a surname, a landline and sometimes one family email, with twins (same date
of birth) and fathers and sons of the same name. Deterministic for a given seed."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from accord.match.names import FORMAL_NICKNAMES

MALE = (  # noqa: SIM905 (a long word list reads best as text)
    "james john robert michael william david richard joseph thomas charles christopher "
    "daniel matthew anthony mark donald steven paul andrew joshua kenneth kevin brian "
    "george timothy ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan "
    "stephen larry justin scott brandon benjamin samuel gregory alexander frank patrick "
    "raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter "
    "kyle noah ethan jeremy walter christian keith roger terry austin sean gerald carl "
    "harold dylan arthur lawrence jordan jesse bryan billy bruce gabriel joe logan alan "
    "juan albert willie elijah wayne randy vincent mason roy ralph bobby russell bradley "
    "philip eugene liam lucas mateo omar ravi kenji wei diego carlos kofi leo theodore"
).split()
FEMALE = (  # noqa: SIM905 (a long word list reads best as text)
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy "
    "betty sandra margaret ashley kimberly emily donna michelle carol amanda melissa "
    "deborah stephanie dorothy rebecca sharon laura cynthia amy kathleen angela shirley "
    "brenda emma anna pamela nicole samantha katherine christine helen debra rachel "
    "carolyn janet maria catherine heather diane olivia julie joyce victoria ruth "
    "virginia lauren kelly christina joan evelyn judith andrea hannah megan cheryl "
    "jacqueline martha madison teresa gloria sara janice ann kathryn abigail sophia "
    "frances jean alice judy isabella julia grace amber denise danielle marilyn beverly "
    "charlotte natalie theresa diana brittany doris kayla alexis lori marie mia chloe "
    "zoe aisha priya fatima yuki ines amara elena nora lucy sofia ava"
).split()
SURNAMES = (  # noqa: SIM905 (a long word list reads best as text)
    "smith johnson williams brown jones garcia miller davis rodriguez martinez "
    "hernandez lopez gonzalez wilson anderson thomas taylor moore jackson martin lee "
    "perez thompson white harris sanchez clark ramirez lewis robinson walker young "
    "allen king wright scott torres nguyen hill flores green adams nelson baker hall "
    "rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker "
    "cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez "
    "ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson "
    "watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez "
    "castillo sanders patel myers long ross foster jimenez powell jenkins perry russell "
    "sullivan bell coleman butler henderson barnes gonzales fisher vasquez simmons "
    "romero jordan patterson alexander hamilton graham reynolds griffin wallace moreno "
    "west cole hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford "
    "castro marshall owens harrison fernandez mcdonald woods washington kennedy wells "
    "vargas henry chen freeman webb tucker guzman burns crawford olson simpson porter "
    "hunter gordon mendez silva shaw snyder mason dixon munoz hunt hicks holmes palmer "
    "wagner black robertson boyd rose stone salazar fox warren mills meyer rice schmidt "
    "garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn "
    "kelley spencer hawkins arnold pierce vazquez hansen peters santos hart bradley "
    "knight elliott cunningham duncan armstrong hudson carroll lane riley andrews "
    "alvarado ray delgado berry perkins hoffman johnston matthews pena richards willis "
    "carpenter lawrence sandoval guerrero george chapman rios estrada ortega watkins "
    "greene nunez wheeler valdez harper burke larson santiago maldonado morrison franklin "
    "carlson austin dominguez carr lawson jacobs obrien lynch singh vega bishop montgomery "
    "oliver jensen harvey williamson gilbert dean sims espinoza howell li wong reid "
    "hanson le mccoy garrett burton fuller wang weber welch rojas lucas marquez fields "
    "park yang little banks padilla day walsh bowman schultz luna fowler mejia davidson "
    "acosta brewer may holland juarez newman pearson curtis cortez douglas schneider "
    "joseph barrett navarro figueroa keller avila wade molina stanley hopkins campos "
    "barnett bates chambers caldwell beck lambert miranda byrd craig ayala lowe frazier "
    "powers neal leonard gregory carrillo sutton fleming rhodes shelton schwartz norris "
    "jennings watts duran walters cohen mcdaniel moran parks steele vaughn becker holt "
    "deleon barker terry hale leon hail benson haynes horton miles lyons pham graves "
    "bush thornton wolfe warner cabrera mckinney mann zimmerman dawson lara fletcher "
    "page mccarthy love robles cervantes solis erickson reeves chang klein salinas "
    "fuentes baldwin daniel simon velasquez hardy higgins aguirre lin cummings chandler "
    "sharp barber bowen ochoa dennis robbins liu ramsey francis griffith paul blair "
    "oconnor cardenas pacheco cross calderon quinn moss swanson chan rivas khan rodgers "
    "serrano fitzgerald rosales stevenson christensen manning gill curry mclaughlin "
    "harmon mcgee gross doyle garner newton burgess reese walton blake trujillo adkins "
    "brady goodman roman webster goodwin fischer huang potter delacruz montoya todd wu "
    "hines mullins castaneda malone cannon tate mack sherman hubbard hodges zhang guerra "
    "wolf valencia saunders franco rowe gallagher farmer hammond hampton townsend ingram "
    "wise gallegos clarke barton schroeder maxwell waters logan camacho strickland "
    "norman person colon parsons frank harrington glover osborne buchanan casey floyd "
    "patton ibarra ball tyler suarez bowers orozco salas cobb gibbs andrade bauer conner "
    "moody escobar mcguire lloyd mueller hartman french kramer mcbride pope lindsey "
    "velazquez norton mccormick sparks flynn yates hogan marsh macias villanueva zamora "
    "pratt stokes owen ballard lang brock villarreal charles drake barrera cain patrick "
    "pineda burnett mercado santana shepherd bautista ali shaffer lamb trevino mckenzie "
    "hess beil olsen cochran morton nash wilkins petersen briggs shah roth nicholson "
    "holloway lozano rangel flowers hoover short arias mora valenzuela bryan meyers "
    "weiss underwood bass greer summers houston carson morrow clayton whitaker decker "
    "yoder collier zuniga carey wilcox melendez poole roberson larsen conley davenport "
    "copeland massey lam huff rocha cameron jefferson hood monroe anthony pittman huynh "
    "randall singleton kirk combs mathis christian skinner bradford richard galvan wall "
    "boone kirby wilkinson bridges bruce atkinson velez meza roy vincent york hodge "
    "villa abbott allison tapia gates chase sosa sweeney farrell wyatt dalton horn "
    "barron phelps yu dickerson heath foley atkins mathews bonilla acevedo benitez"
).split()
STREETS = (  # noqa: SIM905 (a long word list reads best as text)
    "oak pine maple cedar elm birch walnut chestnut willow spruce aspen hickory poplar "
    "magnolia sycamore juniper laurel holly cypress alder park lake hill river forest "
    "meadow valley spring sunset highland ridge summit prospect church mill main market "
    "school union center college academy franklin washington lincoln jefferson madison "
    "jackson adams monroe harrison grant garfield cleveland wilson hamilton king queen "
    "prince bridge water canal harbor bay ocean beach shore cliff rock stone granite "
    "orchard vine garden rose lily daisy clover fern ivy heather sage thistle primrose"
).split()
SUFFIXES = ["St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Pl", "Way", "Ter"]
SPELLED = {"St": "Street", "Ave": "Avenue", "Rd": "Road", "Dr": "Drive", "Ln": "Lane"}
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "mail.com"]
CITY_SYLLABLES = (  # noqa: SIM905 (a long word list reads best as text)
    "spring field river dale green wood ash ford lake port mount fair view glen brook "
    "haven bridge ville ton burg west east north south oak elm cedar stone mill bay"
).split()


def _zipf(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (i + 1) ** s for i in range(n)]


@dataclass(frozen=True)
class Noise:
    """How often each kind of error appears in a person's second and later records."""

    typo: float
    nickname: float
    swap: float
    dob_typo: float
    dob_swap: float
    moved: float
    new_phone_on_move: float
    other_email: float
    missing: float
    household_share: float  # share of people living in a family household
    sources: tuple[tuple[str, float], ...]


POPULATIONS: dict[str, Noise] = {
    "easy": Noise(
        typo=0.04,
        nickname=0.05,
        swap=0.01,
        dob_typo=0.02,
        dob_swap=0.01,
        moved=0.05,
        new_phone_on_move=0.5,
        other_email=0.03,
        missing=0.08,
        household_share=0.0,
        sources=(("online", 0.5), ("crm", 0.35), ("call", 0.15)),
    ),
    "households": Noise(
        typo=0.08,
        nickname=0.10,
        swap=0.02,
        dob_typo=0.04,
        dob_swap=0.02,
        moved=0.10,
        new_phone_on_move=0.5,
        other_email=0.06,
        missing=0.12,
        household_share=0.5,
        sources=(("online", 0.4), ("crm", 0.3), ("call", 0.15), ("store", 0.15)),
    ),
}
# Populations whose records carry only some fields: a register joined to a mailing list
# (names and addresses, families at one address), and one joined to a benefits file
# (names and dates of birth, no address). Their errors and families are the households'.
POPULATIONS["names-addresses"] = POPULATIONS["households"]
POPULATIONS["names-dob"] = POPULATIONS["households"]
KEEP_ONLY: dict[str, set[str]] = {
    "names-addresses": {"first_name", "last_name", "street", "city", "postcode"},
    "names-dob": {"first_name", "last_name", "dob"},
}
FIELDS = ("first_name", "last_name", "dob", "street", "city", "postcode", "email", "phone")
SOURCE_FIELDS = {
    "online": set(FIELDS),
    "crm": {"first_name", "last_name", "dob", "street", "city", "postcode", "phone"},
    "call": {"first_name", "last_name", "dob", "phone", "postcode"},
    "store": {"first_name", "last_name", "postcode", "city", "email"},
}
RECORD_COUNTS = ((1, 0.45), (2, 0.30), (3, 0.14), (4, 0.08), (5, 0.03))


@dataclass
class Person:
    id: int
    household: int | None
    first: str
    last: str
    dob: date
    address: tuple[str, str, str]  # street, city, postcode
    email: str | None
    phone: str | None


@dataclass
class Population:
    """Records as columns (``record_id`` plus FIELDS and ``source``) and their truth."""

    columns: dict[str, list[Any]]
    person: list[int]
    household: list[int | None]
    kind: str
    people: int = 0
    households: int = 0
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.person)

    def rows(self) -> list[dict[str, Any]]:
        names = list(self.columns)
        columns = list(self.columns.values())
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


class Generator:
    def __init__(self, kind: str = "households", seed: int = 1) -> None:
        if kind not in POPULATIONS:
            raise ValueError(f"unknown population {kind!r}; one of {sorted(POPULATIONS)}")
        self.kind = kind
        self.noise = POPULATIONS[kind]
        self.rng = random.Random(seed)
        self.male_w = _zipf(len(MALE), 0.9)
        self.female_w = _zipf(len(FEMALE), 0.9)
        self.surname_w = _zipf(len(SURNAMES), 0.8)
        self.cities = self._cities(400)
        self.city_w = _zipf(len(self.cities), 0.7)
        self._email_seq = 0

    def _cities(self, n: int) -> list[tuple[str, str]]:
        rng = random.Random(99)
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        while len(out) < n:
            name = (rng.choice(CITY_SYLLABLES) + rng.choice(CITY_SYLLABLES)).title()
            if name in seen:
                continue
            seen.add(name)
            out.append((name, f"{rng.randint(100, 999)}"))
        return out

    # --- attributes ------------------------------------------------------------------

    def _first(self, female: bool) -> str:
        names, weights = (FEMALE, self.female_w) if female else (MALE, self.male_w)
        return self.rng.choices(names, weights)[0]

    def _last(self) -> str:
        return self.rng.choices(SURNAMES, self.surname_w)[0]

    def _dob(self, lo: int = 1940, hi: int = 2006) -> date:
        start = date(lo, 1, 1)
        return start + timedelta(days=self.rng.randint(0, (hi - lo) * 365))

    def _address(self) -> tuple[str, str, str]:
        city, zip3 = self.rng.choices(self.cities, self.city_w)[0]
        street = f"{self.rng.randint(1, 9999)} {self.rng.choice(STREETS).title()} "
        street += self.rng.choice(SUFFIXES)
        return street, city, f"{zip3}{self.rng.randint(0, 99):02d}"

    def _phone(self) -> str:
        rng = self.rng
        return f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"

    def _email(self, first: str, last: str) -> str:
        self._email_seq += 1
        style = self.rng.random()
        if style < 0.4:
            local = f"{first}.{last}"
        elif style < 0.7:
            local = f"{first[0]}{last}"
        else:
            local = f"{first}{last[:3]}"
        return f"{local}{self._email_seq}@{self.rng.choice(DOMAINS)}"

    def _person(self, pid: int, household: int | None = None, **given: Any) -> Person:
        female = self.rng.random() < 0.5
        first = given.get("first") or self._first(female)
        last = given.get("last") or self._last()
        return Person(
            id=pid,
            household=household,
            first=first,
            last=last,
            dob=given.get("dob") or self._dob(),
            address=given.get("address") or self._address(),
            email=given["email"]
            if "email" in given
            else (self._email(first, last) if self.rng.random() < 0.85 else None),
            phone=given["phone"]
            if "phone" in given
            else (self._phone() if self.rng.random() < 0.85 else None),
        )

    def _household(self, first_pid: int, hid: int) -> list[Person]:
        rng = self.rng
        last = self._last()
        address = self._address()
        landline = self._phone() if rng.random() < 0.5 else None
        family_email = (
            f"{last}family{hid % 997}@{rng.choice(DOMAINS)}" if rng.random() < 0.2 else None
        )
        adults = 2 if rng.random() < 0.75 else 1
        kids = rng.choice([0, 1, 1, 2, 2, 3])
        people: list[Person] = []
        pid = first_pid
        for i in range(adults):
            surname = last if i == 0 or rng.random() < 0.75 else self._last()
            people.append(
                self._person(
                    pid,
                    hid,
                    last=surname,
                    dob=self._dob(1945, 1990),
                    address=address,
                    **({"phone": landline} if landline else {}),
                    **({"email": family_email} if family_email and rng.random() < 0.7 else {}),
                )
            )
            pid += 1
        twin_dob = self._dob(1992, 2006) if kids >= 2 and rng.random() < 0.25 else None
        for k in range(kids):
            dob = twin_dob if twin_dob and k < 2 else self._dob(1992, 2006)
            first = None
            if k == 0 and people and rng.random() < 0.02:
                first = people[0].first  # a junior with the parent's name
            kid = self._person(
                pid,
                hid,
                first=first,
                last=last,
                dob=dob,
                address=address,
                **({"phone": landline} if landline and rng.random() < 0.5 else {}),
                **({"email": None} if rng.random() < 0.4 else {}),
            )
            if twin_dob and k == 1:
                while kid.first == people[-1].first:
                    kid.first = self._first(self.rng.random() < 0.5)
            people.append(kid)
            pid += 1
        return people

    # --- records ---------------------------------------------------------------------

    def _typo(self, text: str) -> str:
        if len(text) < 3:
            return text
        i = self.rng.randrange(1, len(text))
        op = self.rng.random()
        if op < 0.35:
            return text[:i] + text[i + 1 :]
        if op < 0.7:
            return text[:i] + self.rng.choice(string.ascii_lowercase) + text[i + 1 :]
        if i < len(text) - 1:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        return text + self.rng.choice("aeiou")

    def _nick(self, first: str) -> str:
        nicks = FORMAL_NICKNAMES.get(first)
        return self.rng.choice(nicks) if nicks else first

    def _record(self, p: Person, source: str, first_record: bool) -> dict[str, Any]:
        rng, n = self.rng, self.noise
        first, last = p.first, p.last
        dob: str | None = p.dob.isoformat()
        street, city, postcode = p.address
        email, phone = p.email, p.phone
        if not first_record:
            if rng.random() < n.nickname:
                first = self._nick(first)
            if rng.random() < n.typo:
                first = self._typo(first)
            if rng.random() < n.typo:
                last = self._typo(last)
            if rng.random() < n.swap:
                first, last = last, first
            if rng.random() < n.dob_typo:
                dob = self._dob_typo(p.dob)
            elif rng.random() < n.dob_swap and p.dob.day <= 12 and p.dob.day != p.dob.month:
                dob = date(p.dob.year, p.dob.day, p.dob.month).isoformat()
            if rng.random() < n.moved:
                street, city, postcode = self._address()
                if rng.random() < n.new_phone_on_move:
                    phone = self._phone()
            if rng.random() < n.other_email:
                email = self._email(first, last)
            if rng.random() < 0.1:
                street = self._restyle_street(street)
        values = {
            "first_name": first.title(),
            "last_name": last.title(),
            "dob": dob,
            "street": street,
            "city": city,
            "postcode": postcode,
            "email": email,
            "phone": phone,
        }
        keep = SOURCE_FIELDS["online" if first_record else source]
        out: dict[str, Any] = {}
        for name in FIELDS:
            value = values[name] if name in keep else None
            named = name in ("first_name", "last_name")
            if value is not None and not named and rng.random() < n.missing:
                value = None
            out[name] = value
        out["source"] = "online" if first_record else source
        return out

    def _dob_typo(self, dob: date) -> str:
        text = dob.isoformat()
        positions = [3, 6, 8, 9]
        for _ in range(5):
            i = self.rng.choice(positions)
            candidate = text[:i] + str(self.rng.randint(0, 9)) + text[i + 1 :]
            try:
                if candidate != text and date.fromisoformat(candidate):
                    return candidate
            except ValueError:
                continue
        return text

    def _restyle_street(self, street: str) -> str:
        number, *rest = street.split(" ")
        suffix = rest[-1]
        if suffix in SPELLED:
            rest[-1] = SPELLED[suffix]
        return (
            " ".join([number, *rest]).upper()
            if self.rng.random() < 0.3
            else " ".join([number, *rest])
        )

    def generate(self, records: int) -> Population:
        rng, n = self.rng, self.noise
        columns: dict[str, list[Any]] = {"record_id": [], **{f: [] for f in FIELDS}, "source": []}
        person_truth: list[int] = []
        household_truth: list[int | None] = []
        sources = [s for s, _ in n.sources]
        source_w = [w for _, w in n.sources]
        counts = [c for c, _ in RECORD_COUNTS]
        count_w = [w for _, w in RECORD_COUNTS]
        pid = 0
        hid = 0
        while len(person_truth) < records:
            if n.household_share and rng.random() < n.household_share / 2.2:
                hid += 1
                people = self._household(pid, hid)
            else:
                people = [self._person(pid)]
            pid += len(people)
            for p in people:
                for i in range(rng.choices(counts, count_w)[0]):
                    if len(person_truth) >= records:
                        break
                    row = self._record(p, rng.choices(sources, source_w)[0], i == 0)
                    keep = KEEP_ONLY.get(self.kind)
                    if keep is not None:
                        row = {
                            k: (v if k in keep or k not in FIELDS else None) for k, v in row.items()
                        }
                    columns["record_id"].append(f"r{len(person_truth)}")
                    for name, value in row.items():
                        columns[name].append(value)
                    person_truth.append(p.id)
                    household_truth.append(p.household)
        return Population(
            columns=columns,
            person=person_truth,
            household=household_truth,
            kind=self.kind,
            people=len(set(person_truth)),
            households=hid,
        )


def generate(records: int, kind: str = "households", seed: int = 1) -> Population:
    return Generator(kind, seed).generate(records)
