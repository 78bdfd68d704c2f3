"""scripts/ca_directory.py on names crafted byte by byte: names OpenSSL parses but whose canonical form a strict DER
reader would compute otherwise (the certificate would be filed under a name OpenSSL never looks up: silently not
trusted), and certificates OpenSSL refuses to load, each fail the build; one-byte string types are read as Latin-1,
as OpenSSL reads them. And OpenSSL's own directory lookup (`openssl verify -CApath`, no CAfile, no store) finds
every certificate of the real bundles in a directory written by the script."""

import shutil
import ssl
import subprocess
from pathlib import Path

import certifi
import pytest
from botocore.httpsession import DEFAULT_CA_BUNDLE
from unit.crafted_der import CN, atv, name, openssl_hash, rdn, tlv, with_subject

from scripts import ca_directory

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(not OPENSSL, reason="no openssl command to compare with")
UTF8 = lambda text: tlv(0x0C, text)  # noqa: E731

# OpenSSL parses these; its canonical encoding of them is not the strict one
NOT_STRICT = {
    # x509_name_ex_d2i: an RDN with no attribute contributes no SET to the canonical encoding; the script emits 31 00
    "an empty RDN before a real one": name(rdn(), rdn(atv(CN, UTF8(b"Example Root CA")))),
    "a name of one empty RDN": name(rdn()),
    # OpenSSL re-encodes the OID; the script copies its bytes (non-minimal length form) as they are
    "an OID with a non-minimal length": name(rdn(tlv(0x30, b"\x06\x81\x03\x55\x04\x03" + UTF8(b"Example Root CA")))),
    # BER constructed string: OpenSSL collects it into a PrintableString and canonicalises it; the script copies it
    "a constructed PrintableString": name(rdn(atv(CN, tlv(0x33, tlv(0x13, b"Example Root CA"))))),
}


def loads(der: bytes) -> bool:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=der)
    except ssl.SSLError:
        return False
    return True


@needs_openssl
@pytest.mark.parametrize("label", sorted(NOT_STRICT))
def test_a_name_openssl_would_hash_otherwise_fails_the_build(label, tmp_path):
    der = with_subject(NOT_STRICT[label])
    assert loads(der) and openssl_hash(der) is not None  # OpenSSL takes it, and files it under its own hash
    with pytest.raises(ValueError):
        ca_directory.write(tmp_path / "out", [der])


# OpenSSL refuses to parse these certificates at all: so does the build
UNPARSEABLE = {
    "BMPString of odd length": name(rdn(atv(CN, tlv(0x1E, b"\x00A\x00")))),
    "BMPString surrogate pair": name(rdn(atv(CN, tlv(0x1E, "\U0001f600".encode("utf-16-be"))))),
    "VisibleString (not in X509_NAME_ENTRY's type mask)": name(rdn(atv(CN, tlv(0x1A, b"Root")))),
    "INTEGER value": name(rdn(atv(CN, tlv(0x02, b"\x01")))),
}


@pytest.mark.parametrize("label", sorted(UNPARSEABLE))
def test_a_certificate_openssl_cannot_parse_is_refused_by_the_build(label, tmp_path):
    der = with_subject(UNPARSEABLE[label])
    assert not loads(der)
    with pytest.raises(ValueError):
        ca_directory.write(tmp_path / "out", [der])


# One-byte string types hold Latin-1 (OpenSSL's ASN1_STRING_to_UTF8): a reader taking them as UTF-8 fails here.
LATIN1 = {
    "T61String with Latin-1 bytes": name(rdn(atv(CN, tlv(0x14, b"Caf\xe9 \xa0 ROOT")))),
    "IA5String with a high byte": name(rdn(atv(CN, tlv(0x16, b"\xc9cole ROOT")))),
    "PrintableString with a high byte": name(rdn(atv(CN, tlv(0x13, b"\xff ROOT")))),
}


@needs_openssl
@pytest.mark.parametrize("label", sorted(LATIN1))
def test_one_byte_string_types_are_read_as_latin_1(label):
    der = with_subject(LATIN1[label])
    assert f"{ca_directory.subject_hash(der):08x}" == openssl_hash(der)


@needs_openssl
@pytest.mark.parametrize("bundle", [DEFAULT_CA_BUNDLE, certifi.where()], ids=["botocore", "certifi"])
def test_openssl_finds_every_root_of_the_bundle_in_the_directory(bundle, tmp_path):
    folder = ca_directory.for_bundle(tmp_path / "out", Path(bundle))
    files = sorted(map(str, folder.iterdir()))
    done = subprocess.run(
        [OPENSSL, "verify", "-no-CAfile", "-no-CAstore", "-CApath", str(folder), "-no_check_time", *files],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(files) == len(ca_directory.certificates(Path(bundle).read_bytes()))
    # and with an empty directory, nothing verifies (the check can fail)
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = subprocess.run(
        [OPENSSL, "verify", "-no-CAfile", "-no-CAstore", "-CApath", str(empty), "-no_check_time", files[0]],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
