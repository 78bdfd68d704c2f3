"""Chain building through the hashed directory (aws.trust_context on a directory written by
scripts/ca_directory.py) decides exactly as the same certificates loaded as a bundle file, for intermediates the
bundle lacks, cross-signed roots, two roots of one subject, and two subjects whose hashes collide. And its fallbacks
never widen trust nor reach the system store: a missing layer directory means the bundle is parsed; a partial one
fails closed for what it lacks; every context is CERT_REQUIRED and starts with nothing loaded from default paths."""

import datetime
import ssl
from pathlib import Path

import pytest
from botocore.httpsession import DEFAULT_CA_BUNDLE
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from unit.test_ca_directory import handshake as handshake_or_raise

from otp_api import aws
from scripts import ca_directory

NOW = datetime.datetime.now(datetime.UTC)
HOST = "example.test"


def nm(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class Ca:
    def __init__(self, cn, key=None):
        self.name, self.key = nm(cn), key or ec.generate_private_key(ec.SECP256R1())


def cert(subject: x509.Name, key, issuer: Ca, *, ca: bool, ids: bool = True, days=(-1, 30)) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + datetime.timedelta(days=days[0]))
        .not_valid_after(NOW + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ids:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
    return b.sign(issuer.key, hashes.SHA256())


def root(ca: Ca, **kw) -> x509.Certificate:
    return cert(ca.name, ca.key, ca, ca=True, **kw)


def der(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.DER)


def server(tmp: Path, chain: list[x509.Certificate], key) -> ssl.SSLContext:
    (tmp / "chain.pem").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "chain.pem", tmp / "key.pem")
    return context


def handshake(client: ssl.SSLContext, srv: ssl.SSLContext) -> bool:
    """Whether a client trusting as `client` says finishes a handshake with `srv` (in memory)."""
    try:
        handshake_or_raise(client, srv)
    except ssl.SSLError:
        return False
    return True


def both_ways(tmp: Path, bundle: list[x509.Certificate], chain, key) -> tuple[bool, bool]:
    """(trusted through the hashed directory via aws.trust_context, trusted through the same bundle as a file)"""
    folder = ca_directory.write(tmp / "dir", [der(c) for c in bundle])
    bundle_file = tmp / "bundle.pem"
    bundle_file.write_text("".join(ca_directory.pem(der(c)) for c in bundle))
    directory = aws.trust_context(str(folder))
    assert directory.verify_mode == ssl.CERT_REQUIRED
    from botocore.httpsession import create_urllib3_context

    as_file = create_urllib3_context()
    as_file.load_verify_locations(cafile=str(bundle_file))
    srv = server(tmp, chain, key)
    return handshake(directory, srv), handshake(as_file, srv)


def leaf_key():
    return ec.generate_private_key(ec.SECP256R1())


def test_intermediate_not_in_bundle_sent_by_server(tmp_path):
    r, i, k = Ca("R"), Ca("I"), leaf_key()
    inter = cert(i.name, i.key, r, ca=True)
    leaf = cert(nm(HOST), k, i, ca=False)
    assert both_ways(tmp_path, [root(r)], [leaf, inter], k) == (True, True)


def test_intermediate_not_in_bundle_not_sent(tmp_path):
    r, i, k = Ca("R"), Ca("I"), leaf_key()
    leaf = cert(nm(HOST), k, i, ca=False)
    assert both_ways(tmp_path, [root(r)], [leaf], k) == (False, False)


@pytest.mark.parametrize("ids", [True, False], ids=["key ids", "no key ids"])
@pytest.mark.parametrize("which", [0, 1])
def test_two_roots_of_one_subject(tmp_path, which, ids):
    twins = [Ca("Twin Root"), Ca("Twin Root")]
    k = leaf_key()
    leaf = cert(nm(HOST), k, twins[which], ca=False, ids=ids)
    trust = [root(t, ids=ids) for t in twins]
    folder_names = sorted(p.name for p in ca_directory.write(tmp_path / "probe", [der(c) for c in trust]).iterdir())
    assert [n.rsplit(".")[1] for n in folder_names] == ["0", "1"]
    via_dir, via_file = both_ways(tmp_path, trust, [leaf], k)
    assert via_dir == via_file
    if ids:
        assert via_dir


def test_two_roots_of_one_subject_first_expired(tmp_path):
    twins = [Ca("Twin Root"), Ca("Twin Root")]
    k = leaf_key()
    leaf = cert(nm(HOST), k, twins[1], ca=False)
    trust = [root(twins[0], days=(-30, -1)), root(twins[1])]
    assert both_ways(tmp_path, trust, [leaf], k) == (True, True)


@pytest.mark.parametrize("anchor", ["new root", "old root", "both"])
def test_cross_signed_root(tmp_path, anchor):
    old, new, i, k = Ca("Old Root"), Ca("New Root"), Ca("I"), leaf_key()
    cross = cert(new.name, new.key, old, ca=True)  # New Root's key, signed by Old Root
    inter = cert(i.name, i.key, new, ca=True)
    leaf = cert(nm(HOST), k, i, ca=False)
    trust = {"new root": [root(new)], "old root": [root(old)], "both": [root(old), root(new)]}[anchor]
    assert both_ways(tmp_path, trust, [leaf, inter, cross], k) == (True, True)


def test_cross_signed_root_expired_self_signed_in_bundle(tmp_path):
    # the self-signed New Root in the bundle has expired; the cross-sign to Old Root is valid
    old, new, i, k = Ca("Old Root"), Ca("New Root"), Ca("I"), leaf_key()
    cross = cert(new.name, new.key, old, ca=True)
    inter = cert(i.name, i.key, new, ca=True)
    leaf = cert(nm(HOST), k, i, ca=False)
    via_dir, via_file = both_ways(tmp_path, [root(old), root(new, days=(-30, -1))], [leaf, inter, cross], k)
    assert via_dir == via_file


def colliding_names() -> tuple[str, str]:
    """Two common names whose subject hashes collide (32 bits: a birthday search)."""
    import hashlib

    seen = {}
    n = 0
    while True:
        cn = f"Collide {n}"
        canon = ca_directory.canonical_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]).public_bytes()[2:])
        h = hashlib.sha1(canon, usedforsecurity=False).digest()[:4]  # OpenSSL's subject hash
        if h in seen:
            return seen[h], cn
        seen[h] = cn
        n += 1


def test_two_subjects_whose_hashes_collide(tmp_path):
    a_cn, b_cn = colliding_names()
    a, b = Ca(a_cn), Ca(b_cn)
    bundle = [root(a), root(b)]
    names = sorted(p.name for p in ca_directory.write(tmp_path / "probe", [der(c) for c in bundle]).iterdir())
    assert names[0].split(".")[0] == names[1].split(".")[0]
    for ca, sub in ((a, "a"), (b, "b")):
        k = leaf_key()
        work = tmp_path / sub
        work.mkdir()
        assert both_ways(work, bundle, [cert(nm(HOST), k, ca, ca=False)], k) == (True, True)
        # and with only the *other* one trusted, refused both ways
        other = [c for c in bundle if c.subject != ca.name]
        work2 = tmp_path / (sub + "2")
        work2.mkdir()
        assert both_ways(work2, other, [cert(nm(HOST), k, ca, ca=False)], k) == (False, False)


# --- fallbacks: never wider trust, never the system store ---------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_cache():
    aws.trust_context.cache_clear()
    yield
    aws.trust_context.cache_clear()


def test_a_partial_layer_directory_fails_closed_without_falling_back(tmp_path, monkeypatch):
    a, b = Ca("Root A"), Ca("Root B")
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("".join(ca_directory.pem(der(root(c))) for c in (a, b)))
    partial = ca_directory.write(tmp_path / "partial", [der(root(a))])  # Root B's file lost
    monkeypatch.setattr(aws, "hashed_folder", lambda data: str(partial))
    context = aws.trust_context(str(bundle))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.get_ca_certs() == []  # nothing loaded yet
    for ca, trusted in ((a, True), (b, False)):
        k = leaf_key()
        work = tmp_path / ca.name.rfc4514_string().replace("=", "_").replace(" ", "_")
        work.mkdir()
        assert handshake(context, server(work, [cert(nm(HOST), k, ca, ca=False)], k)) is trusted


def test_without_the_layer_directory_the_bundle_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(aws, "hashed_folder", lambda data: None)
    context = aws.trust_context(DEFAULT_CA_BUNDLE)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert len(context.get_ca_certs()) == len(ca_directory.certificates(Path(DEFAULT_CA_BUNDLE).read_bytes()))


def test_a_nonexistent_bundle_raises(tmp_path):
    with pytest.raises(OSError):
        aws.trust_context(str(tmp_path / "nope.pem"))
