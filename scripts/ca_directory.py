"""The CA bundle botocore would choose, as a directory of hashed certificates, for the layer (the Makefile's
build-CommonLayer).

    PYTHONPATH=LAYER python3.13 -S scripts/ca_directory.py OUTPUT --expect-bundle-in LAYER

writes OUTPUT/<SHA-256 of the bundle's bytes>/, one file per certificate of the bundle botocore chooses
(`botocore.httpsession.get_cert_path(True)`: certifi's if it can be imported, else botocore's own cacert.pem), named
`<subject hash>.<n>` as `openssl rehash` names them: OpenSSL then reads only the certificates a chain needs, at
the handshake, where loading the bundle parses all of them (about 130) at every cold start (aws.trust_context).
`-S` keeps the build's own site-packages (and any certifi there) out of the choice, and `--expect-bundle-in` fails
the build unless the bundle chosen is in the layer. The folder is named after the bundle's digest because it holds
that bundle's certificates alone: aws.py uses it for a bundle of the same bytes, and loads any other as before.

Standard library only, and no `openssl` command: the subject hash (X509_NAME_hash, `openssl x509 -subject_hash`) is
computed here as OpenSSL does (tests/unit/test_ca_directory.py checks it against the command for every certificate
of the bundles, and has OpenSSL itself find certificates in a directory written here). A certificate whose subject
is not strict DER of the string types a CA's name uses (where OpenSSL's canonical form could differ from this
one's), or that the build's OpenSSL cannot load, fails the build: a certificate filed under another hash would be
silently untrusted.
"""

import argparse
import base64
import hashlib
import re
import ssl
import sys
from collections.abc import Iterable
from pathlib import Path

PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END CERTIFICATE-----")
# ASN.1 string types that OpenSSL canonicalises in a name (x_name.c, ASN1_MASK_CANON), and how many bytes each
# character takes (ASN1_STRING_to_UTF8: T61String is read as Latin-1, one byte a character; 0: UTF-8)
UTF8_STRING = 0x0C
# (UTF8String, PrintableString, T61String, IA5String, BMPString, UniversalString: the DirectoryString types and
# IA5String; any other value type is refused, never hashed by guess)
CHARACTER_BYTES = {UTF8_STRING: 0, 0x13: 1, 0x14: 1, 0x16: 1, 0x1E: 2, 0x1C: 4}
SPACES = b" \t\n\v\f\r"  # ossl_isspace


def certificates(bundle: bytes) -> list[bytes]:
    """The DER certificates of a PEM bundle; a bundle with anything else in it (a key, a CRL, a TRUSTED
    CERTIFICATE with its own trust settings) cannot be written as the same trust, and is refused."""
    found = [base64.b64decode(block) for block in PEM.findall(bundle)]
    if len(found) != bundle.count(b"-----BEGIN "):
        raise ValueError("the bundle holds something other than certificates")
    return found


def _element(data: bytes, at: int) -> tuple[int, int, int]:
    """The DER element at `at`: its tag, where its content starts and where it ends. Strict DER: a length in its
    shortest form (a BER form would be re-encoded by OpenSSL, and hashed otherwise than here)."""
    tag, length = data[at], data[at + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("a multi-byte DER tag")
    at += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[at : at + size])
        if size == 0 or length < 0x80 or data[at] == 0:
            raise ValueError("a length that is not DER")
        at += size
    if at + length > len(data):
        raise ValueError("an element longer than its data")
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> Iterable[tuple[int, int, int, int]]:
    """The elements within data[start:end]: (tag, where the element starts, where its content starts, end)."""
    while start < end:
        tag, content, after = _element(data, start)
        yield tag, start, content, after
        start = after


def _encode(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8)
    return bytes((tag, 0x80 | len(length))) + length + content


def subject(certificate: bytes) -> bytes:
    """The content of a DER certificate's subject Name (its RDNs)."""
    _, start, end = _element(certificate, 0)  # Certificate
    _, start, end = _element(certificate, start)  # tbsCertificate
    fields = [(tag, content, after) for tag, _, content, after in _children(certificate, start, end)]
    if fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    _serial, _signature, _issuer, _validity, (_, content, after) = fields[:5]
    return certificate[content:after]


def _canonical_value(tag: int, value: bytes) -> bytes:
    """An attribute's value as OpenSSL's canonical name encoding has it (x_name.c, asn1_string_canon): a string
    type turned to UTF-8, ASCII white space trimmed at both ends and collapsed to one space, ASCII lowercased.
    Any other type, or a string OpenSSL would refuse, fails the build."""
    if tag not in CHARACTER_BYTES:
        raise ValueError(f"a name value of type {tag:#04x}")
    width = CHARACTER_BYTES[tag]
    if width == 0:
        text = value.decode("utf-8").encode("utf-8")
    else:
        if len(value) % width:
            raise ValueError("a string of partial characters")
        units = [int.from_bytes(value[i : i + width]) for i in range(0, len(value), width)]
        if any(0xD800 <= unit <= 0xDFFF or unit > 0x10FFFF for unit in units):
            raise ValueError("a string with surrogates or beyond Unicode")  # (OpenSSL refuses the certificate)
        text = "".join(map(chr, units)).encode("utf-8")
    text = re.sub(rb"[ \t\n\v\f\r]+", b" ", text.strip(SPACES)).lower()  # (bytes.lower: ASCII letters only)
    return _encode(UTF8_STRING, text)


def canonical_name(name: bytes) -> bytes:
    """OpenSSL's canonical encoding of a Name's content (x509_name_canon): each RDN a DER SET of its attributes,
    their values canonical, the SETs one after another with no SEQUENCE around them."""
    sets = []
    for rdn_tag, _, rdn_start, rdn_end in _children(name, 0, len(name)):
        if rdn_tag != 0x31 or rdn_start == rdn_end:
            raise ValueError("an RDN that is not a SET of attributes")  # (OpenSSL drops an empty one)
        attributes = []
        for _, _, start, end in _children(name, rdn_start, rdn_end):
            (oid_tag, oid_at, _, oid_end), (tag, _, value_at, value_end) = _children(name, start, end)
            if oid_tag != 0x06:
                raise ValueError("an attribute whose type is no OID")
            value = _canonical_value(tag, name[value_at:value_end])
            attributes.append(_encode(0x30, name[oid_at:oid_end] + value))
        sets.append(_encode(0x31, b"".join(sorted(attributes))))  # DER orders a SET OF by its encodings
    return b"".join(sets)


def subject_hash(certificate: bytes) -> int:
    """OpenSSL's subject hash of a DER certificate (X509_subject_name_hash; `openssl x509 -subject_hash`): the first
    four bytes of the SHA-1 of the subject's canonical encoding, little-endian."""
    digest = hashlib.sha1(canonical_name(subject(certificate)), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "little")


def pem(certificate: bytes) -> str:
    text = base64.b64encode(certificate).decode("ascii")
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def write(folder: Path, certificates: Iterable[bytes]) -> Path:
    """`certificates` into `folder` (made, and empty), one PEM file each, named `<subject hash>.<n>` (n from 0 for
    certificates whose subjects hash alike, in their order), as OpenSSL's directory lookup reads them. A certificate
    given twice is written once."""
    folder.mkdir(parents=True)
    written: set[bytes] = set()
    for certificate in certificates:
        if certificate in written:
            continue
        try:  # the build's OpenSSL loads it, as the bundle file would be loaded
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=certificate)
        except ssl.SSLError as error:
            raise ValueError(f"a certificate OpenSSL cannot load: {error}") from None
        written.add(certificate)
        prefix = f"{subject_hash(certificate):08x}"
        n = sum(1 for _ in folder.glob(f"{prefix}.*"))
        (folder / f"{prefix}.{n}").write_text(pem(certificate))
    return folder


def read(folder: Path) -> list[bytes]:
    """The DER certificates of a directory written by `write`."""
    return [der for path in sorted(folder.iterdir()) for der in certificates(path.read_bytes())]


def for_bundle(output: Path, bundle: Path) -> Path:
    """`bundle` as a hashed directory: OUTPUT/<SHA-256 of the bundle's bytes>/."""
    data = bundle.read_bytes()
    return write(output / hashlib.sha256(data).hexdigest(), certificates(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--expect-bundle-in", type=Path, help="fail unless botocore's choice is in this folder")
    args = parser.parse_args()
    from botocore.httpsession import get_cert_path

    bundle = Path(get_cert_path(True)).resolve()
    if args.expect_bundle_in and not bundle.is_relative_to(args.expect_bundle_in.resolve()):
        raise SystemExit(f"ca_directory.py: botocore chooses {bundle}, which is not in {args.expect_bundle_in}")
    folder = for_bundle(args.output, bundle)
    count = sum(1 for _ in folder.iterdir())
    print(f"ca_directory.py: {count} certificates of {bundle} in {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
