"""Key URI format (otpauth://) as authenticator apps read it."""

from urllib.parse import quote, urlencode


def totp_uri(secret: str, label: str, issuer: str, algorithm: str, digits: int, period: int) -> str:
    """`otpauth://totp/Issuer:label?...`; without an issuer the label stands alone."""
    path = f"{quote(issuer, safe='')}:{quote(label, safe='')}" if issuer and label else quote(issuer or label, safe="")
    query = {"secret": secret, "issuer": issuer, "algorithm": algorithm, "digits": digits, "period": period}
    if not issuer:
        del query["issuer"]
    return f"otpauth://totp/{path}?{urlencode(query, quote_via=quote)}"
