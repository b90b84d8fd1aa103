"""``completionData`` for a completed order, with every field the v6.0 collect response has.

Field list from developers.bankid.com, API reference "Collect", completed orders: ``user``
(personalNumber, name, givenName, surname), ``device`` (ipAddress, uhi), ``bankIdIssueDate``,
``stepUp`` (mrtd), ``signature`` (base64 XML), ``ocspResponse`` (base64) and ``risk`` (only when
the start request asked for it with ``returnRisk``).

The signature is an XML document shaped like BankID's signature profile (``bankIdSignedData``
with the visible and non-visible data the user saw) but its ``SignatureValue`` is random bytes,
and ``ocspResponse`` is not a DER OCSP response: nothing issued by the simulator is meant to be
verified cryptographically, and pretending otherwise would only hide that.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import xml.etree.ElementTree as ET
from typing import Any

from identity.bankid.simulator.persons import TestPerson
from identity.bankid.simulator.validation import StartParameters

_DSIG = "http://www.w3.org/2000/09/xmldsig#"
_BANKID = "http://www.bankid.com/signature/v1.0.0/types"
_ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ET.register_namespace("ds", _DSIG)
ET.register_namespace("bid", _BANKID)


def completion_data(
    *,
    start: StartParameters,
    person: TestPerson,
    device_ip: str,
    risk: str,
    completed_at: dt.datetime,
) -> dict[str, Any]:
    signature = _signature_xml(start, person, completed_at)
    signature_b64 = base64.b64encode(signature).decode("ascii")
    data: dict[str, Any] = {
        "user": {
            "personalNumber": person.personal_number,
            "name": person.name,
            "givenName": person.given_name,
            "surname": person.surname,
        },
        "device": {"ipAddress": device_ip, "uhi": unique_hardware_id(person)},
        "bankIdIssueDate": person.bank_id_issue_date.isoformat(),
        "signature": signature_b64,
        "ocspResponse": _ocsp_stand_in(signature_b64),
    }
    if start.mrtd:
        # stepUp reports extra checks that were part of the order; the simulated passport
        # check always passes.
        data["stepUp"] = {"mrtd": True}
    if start.return_risk:
        data["risk"] = risk
    return data


def unique_hardware_id(person: TestPerson) -> str:
    """``device.uhi``: stable per device. Each test person has one simulated device."""
    digest = hashlib.sha256(f"meetsvc-bankid-simulator-device:{person.personal_number}".encode()).digest()
    return base64.b64encode(digest).decode("ascii")


def _signature_xml(start: StartParameters, person: TestPerson, completed_at: dt.datetime) -> bytes:
    root = ET.Element(f"{{{_DSIG}}}Signature")
    signed_info = ET.SubElement(root, f"{{{_DSIG}}}SignedInfo")
    ET.SubElement(signed_info, f"{{{_DSIG}}}SignatureMethod", Algorithm=_ECDSA_SHA256)
    ET.SubElement(root, f"{{{_DSIG}}}SignatureValue").text = base64.b64encode(secrets.token_bytes(64)).decode("ascii")
    key_info = ET.SubElement(root, f"{{{_DSIG}}}KeyInfo")
    ET.SubElement(key_info, f"{{{_DSIG}}}KeyName").text = f"Simulated BankID of {person.name}"
    obj = ET.SubElement(root, f"{{{_DSIG}}}Object")
    signed = ET.SubElement(obj, f"{{{_BANKID}}}bankIdSignedData", Id="bidSignedData")
    if start.user_visible_data is not None:
        visible = ET.SubElement(signed, f"{{{_BANKID}}}usrVisibleData", charset="UTF-8", visible="wysiwys")
        visible.text = base64.b64encode(start.user_visible_data.encode("utf-8")).decode("ascii")
    if start.user_non_visible_data is not None:
        ET.SubElement(signed, f"{{{_BANKID}}}usrNonVisibleData").text = start.user_non_visible_data
    server_info = ET.SubElement(signed, f"{{{_BANKID}}}srvInfo")
    ET.SubElement(server_info, f"{{{_BANKID}}}nonce").text = base64.b64encode(secrets.token_bytes(20)).decode("ascii")
    ET.SubElement(server_info, f"{{{_BANKID}}}time").text = completed_at.isoformat()
    client_info = ET.SubElement(signed, f"{{{_BANKID}}}clientInfo")
    ET.SubElement(client_info, f"{{{_BANKID}}}funcId").text = "Signing" if start.kind.is_sign else "Identification"
    # typeshed types tostring() as Any for any encoding but "unicode"; an explicit encoding gives bytes.
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _ocsp_stand_in(signature_b64: str) -> str:
    """Bytes in place of the OCSP response, carrying the nonce BankID defines for it: SHA-1
    over the base64 signature (UTF-8) followed by 12 random bytes."""
    nonce = hashlib.sha1(signature_b64.encode("utf-8")).digest() + secrets.token_bytes(12)  # noqa: S324  # BankID defines it
    return base64.b64encode(b"meetsvc-bankid-simulator-ocsp:" + nonce).decode("ascii")
