"""The HTML ``autocomplete`` token a field gets from its name and type when the
schema names none (WCAG 1.3.5: fields about the user say what they are)."""

from __future__ import annotations

_AUTOCOMPLETE_BY_NAME = {
    "email": "email", "emailaddress": "email", "name": "name", "fullname": "name", "firstname": "given-name",
    "givenname": "given-name", "lastname": "family-name", "familyname": "family-name", "surname": "family-name",
    "company": "organization", "organization": "organization", "organisation": "organization",
    "phone": "tel", "telephone": "tel", "tel": "tel", "mobile": "tel", "address": "street-address",
    "streetaddress": "street-address", "postalcode": "postal-code", "postcode": "postal-code", "zip": "postal-code",
    "zipcode": "postal-code", "country": "country-name", "city": "address-level2",
}
_AUTOCOMPLETE_BY_TYPE = {"email": "email", "tel": "tel", "url": "url"}


def autocomplete_for(name: str, ftype: str) -> str | None:
    if ftype in ("hidden", "checkbox", "checkboxes", "radio", "select", "file"):
        return None
    return _AUTOCOMPLETE_BY_NAME.get(name.replace("_", "").replace("-", "").lower()) or _AUTOCOMPLETE_BY_TYPE.get(ftype)
