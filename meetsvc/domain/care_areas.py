"""Areas of care (verksamhetsområden): each organisation keeps its own list.

An area is named by a short code that never changes (meetings and statistics refer to the area's
id, reports name it in Swedish or English). Retiring an area only stops new meetings from using
it: the meetings and statistics already recorded under it keep it, so last year's figures still
add up after a reorganisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meetsvc.domain.errors import Violation
from meetsvc.domain.rules import check_text

#: The list every new organisation starts with (and every existing one got when areas became
#: its own): code, Swedish name, English name.
SEED: tuple[tuple[str, str, str], ...] = (
    ("barn_och_unga", "Barn och unga", "Children and young people"),
    ("socialpsykiatri", "Socialpsykiatri", "Social psychiatry"),
    ("missbruk_och_beroende", "Missbruk och beroende", "Substance abuse and addiction"),
    ("vald_i_nara_relationer", "Våld i nära relationer", "Domestic violence"),
    ("aldreomsorg", "Äldreomsorg", "Elderly care"),
    ("funktionsnedsattning", "Funktionsnedsättning", "Disability"),
    ("ekonomiskt_bistand", "Ekonomiskt bistånd", "Financial assistance"),
    ("ovrigt", "Övrigt", "Other"),
)

CODE = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True, slots=True)
class CareArea:
    id: str
    organisation_id: str
    code: str
    name_sv: str
    name_en: str
    active: bool

    def name(self, language: str) -> str:
        return self.name_sv if language == "sv" else self.name_en


def check_new_area(code: str, name_sv: str, name_en: str) -> list[Violation]:
    """What is wrong with a new area's code and names (nothing: an empty list)."""
    violations: list[Violation] = []
    if not CODE.fullmatch(code):
        violations.append(Violation("/code", "pattern", "1–40 of a–z, 0–9 and _"))
    for field, name in (("/name_sv", name_sv), ("/name_en", name_en)):
        violations += check_text(field, name, max_length=100)
    return violations
