"""The CA bundle as a directory of hashed certificates (scripts/ca_directory.py, the layer's build): every
certificate's subject hash is OpenSSL's own (`openssl x509 -subject_hash`, for every certificate of botocore's and
certifi's bundles and for names made to test each rule of OpenSSL's canonical form), and OpenSSL itself (through
Python's ssl module, no command) finds each certificate in a directory written here, and nothing else."""

import datetime
import hashlib
import shutil
import ssl
import subprocess
from pathlib import Path

import certifi
import pytest
from botocore.httpsession import DEFAULT_CA_BUNDLE
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from scripts import ca_directory

BUNDLES = {"botocore": Path(DEFAULT_CA_BUNDLE), "certifi": Path(certifi.where())}
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(not OPENSSL, reason="no openssl command to compare with")
NOW = datetime.datetime.now(datetime.UTC)


def attribute(oid, value: str, kind: _ASN1Type = _ASN1Type.UTF8String) -> x509.NameAttribute:
    return x509.NameAttribute(oid, value, _type=kind)


# Subjects that exercise each rule of OpenSSL's canonical form (x_name.c: asn1_string_canon, x509_name_canon)
NAMES = {
    "case and spaces": x509.Name([attribute(NameOID.COMMON_NAME, "  Mixed   CASE\tName \r\n")]),
    "utf-8 beyond ascii": x509.Name(
        [attribute(NameOID.ORGANIZATION_NAME, "Ünïcode STRAßE"), attribute(NameOID.COMMON_NAME, "Éé CA")]
    ),
    "bmp string": x509.Name([attribute(NameOID.COMMON_NAME, "BMP Name Ω", _ASN1Type.BMPString)]),
    "universal string": x509.Name([attribute(NameOID.COMMON_NAME, "Universal ✓ Name", _ASN1Type.UniversalString)]),
    "t61 string": x509.Name([attribute(NameOID.COMMON_NAME, "T61 Cafe", _ASN1Type.T61String)]),
    "printable and ia5": x509.Name(
        [
            attribute(NameOID.COUNTRY_NAME, "US", _ASN1Type.PrintableString),
            attribute(NameOID.EMAIL_ADDRESS, "Someone@Example.COM", _ASN1Type.IA5String),
        ]
    ),
    "multi-valued rdn": x509.Name(
        [
            x509.RelativeDistinguishedName(
                [attribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Zeta"), attribute(NameOID.COMMON_NAME, "Alpha")]
            )
        ]
    ),
    "multi-valued rdn that its canonical form reorders": x509.Name(  # (UTF8 "b" before Printable "A"; "a" before "b")
        [
            x509.RelativeDistinguishedName(
                [
                    attribute(NameOID.COMMON_NAME, "b"),
                    attribute(NameOID.COMMON_NAME, "A", _ASN1Type.PrintableString),
                ]
            )
        ]
    ),
    "long value": x509.Name([attribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Long " * 40)]),
}


def certificate(subject: x509.Name, issuer: x509.Name | None = None, key=None, issuer_key=None) -> bytes:
    """A DER certificate for `subject`: a self-signed CA, or with `issuer`, a server certificate for example.test."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(hours=1))
        .not_valid_after(NOW + datetime.timedelta(days=1))
    )
    if issuer is None:  # (key identifiers: how OpenSSL tells apart two CAs of one name)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("example.test")]), critical=False)
        authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        builder = builder.add_extension(authority, critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def openssl_subject_hash(der: bytes) -> str:
    pem = ca_directory.pem(der).encode()
    return subprocess.run(
        [OPENSSL, "x509", "-subject_hash", "-noout"], input=pem, capture_output=True, check=True
    ).stdout.decode()


@needs_openssl
@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_the_subject_hash_is_openssls_for_every_certificate_of_the_bundle(bundle):
    found = ca_directory.certificates(BUNDLES[bundle].read_bytes())
    assert len(found) > 100
    for der in found:
        assert f"{ca_directory.subject_hash(der):08x}\n" == openssl_subject_hash(der)


@needs_openssl
@pytest.mark.parametrize("name", sorted(NAMES))
def test_the_subject_hash_is_openssls_for_names_that_test_its_canonical_form(name):
    der = certificate(NAMES[name])
    assert f"{ca_directory.subject_hash(der):08x}\n" == openssl_subject_hash(der)


def handshake(trusting: ssl.SSLContext, serving: ssl.SSLContext) -> None:
    """A TLS handshake in memory between a client that trusts as `trusting` says and a server; raises
    ssl.SSLCertVerificationError when the client does not trust the server's certificate."""
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client = trusting.wrap_bio(client_in, client_out, server_hostname="example.test")
    server = serving.wrap_bio(server_in, server_out, server_side=True)
    done: set[str] = set()
    for _ in range(10):
        for side, name, out, peer in (
            (client, "client", client_out, server_in),
            (server, "server", server_out, client_in),
        ):
            if name not in done:
                try:
                    side.do_handshake()
                    done.add(name)
                except ssl.SSLWantReadError:
                    pass
            peer.write(out.read())
        if done == {"client", "server"}:
            return
    raise AssertionError("the handshake did not finish")


def server_context(issuer_der: bytes, issuer_key, folder: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.load_der_x509_certificate(issuer_der).subject
    leaf = certificate(x509.Name([attribute(NameOID.COMMON_NAME, "example.test")]), issuer, key, issuer_key)
    (folder / "leaf.pem").write_text(ca_directory.pem(leaf))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "leaf.pem", folder / "key.pem")
    return context


def trusting(folder: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # certificate and hostname checks on
    context.load_verify_locations(capath=folder)
    return context


def test_openssl_finds_each_certificate_in_a_written_directory_and_trusts_nothing_else(tmp_path):
    # Given CAs named to test each canonical rule, two of them with the same subject (`.0` and `.1`)
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in [*NAMES, "twin"]}
    cas = {name: certificate(NAMES.get(name, NAMES["case and spaces"]), key=key) for name, key in keys.items()}
    folder = ca_directory.write(tmp_path / "hashed", list(cas.values()))
    twins = sorted(
        path.name for path in folder.iterdir() if path.name.startswith(f"{ca_directory.subject_hash(cas['twin']):08x}.")
    )
    assert [name.rsplit(".", 1)[1] for name in twins] == ["0", "1"]
    for name, ca in cas.items():
        work = tmp_path / name.replace(" ", "-")
        work.mkdir()
        # Then a server whose certificate one of them issued is trusted through the directory
        handshake(trusting(folder), server_context(ca, keys[name], work))
        # and not through a directory of every other one
        others = ca_directory.write(work / "others", [der for other, der in cas.items() if other != name])
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(trusting(others), server_context(ca, keys[name], work))


def test_the_directory_holds_exactly_the_bundles_certificates(tmp_path):
    bundle = BUNDLES["botocore"].read_bytes()
    given = ca_directory.certificates(bundle)
    folder = ca_directory.for_bundle(tmp_path, BUNDLES["botocore"])
    assert folder.name == hashlib.sha256(bundle).hexdigest()
    held = ca_directory.read(folder)
    assert len(held) == len(set(held)) and set(held) == set(given)
    for path in folder.iterdir():
        (der,) = ca_directory.certificates(path.read_bytes())
        prefix, n = path.name.split(".")
        assert prefix == f"{ca_directory.subject_hash(der):08x}" and (
            n == "0" or (folder / f"{prefix}.{int(n) - 1}").exists()
        )


def test_a_certificate_given_twice_is_written_once(tmp_path):
    der = certificate(NAMES["bmp string"])
    folder = ca_directory.write(tmp_path / "hashed", [der, der])
    assert [path.name for path in folder.iterdir()] == [f"{ca_directory.subject_hash(der):08x}.0"]


def test_a_bundle_with_anything_but_certificates_is_refused():
    pem = ca_directory.pem(certificate(NAMES["case and spaces"])).encode()
    with pytest.raises(ValueError, match="other than certificates"):
        ca_directory.certificates(pem + b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
