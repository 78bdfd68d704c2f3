"""Init opens the connections its first requests need (at_init.py, aws.warm_up), where no snapshot is restored:
the first request after init reuses them, and a warm-up that fails or hangs never fails nor holds up the init.
Each init runs in a fresh interpreter against the bench's loopback stand-in of AWS (bench/standin.py), which
counts the connections it accepts and records each request; over TLS too, where the CA bundle is parsed once per
process however many connections are made (aws.trust_context). Run from source, where the layer's directory of
hashed certificates is not built: local/test_trust_store.py runs the built package."""

import logging
import time
from pathlib import Path

import pytest
from botocore.httpsession import DEFAULT_CA_BUNDLE
from init_probe import first_request

from bench import standin
from otp_api import aws
from scripts import ca_directory


@pytest.fixture(scope="module")
def stand_in():
    server = standin.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def tls_stand_in():
    server = standin.start(tls=True)
    yield server
    server.shutdown()


def test_init_opens_the_connections_and_the_first_request_reuses_them(stand_in):
    probe = first_request(stand_in)
    # a GetItem and a refused UpdateItem on DynamoDB, an Encrypt and a refused Decrypt on KMS: one connection each,
    # and each operation's first call made (botocore's first call of an operation costs more than the next)
    dynamodb = [call for call in probe.at_init if call.startswith("DynamoDB")]
    assert dynamodb == ["DynamoDB_20120810.GetItem", "DynamoDB_20120810.UpdateItem"]
    assert [call for call in probe.at_init if call.startswith("Trent")] == [
        "TrentService.Encrypt",
        "TrentService.Decrypt",
    ]
    assert probe.opened == 2
    # the verify's conditional write goes over the DynamoDB connection already open
    assert probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.after == 2 and probe.status == 200


def test_over_tls_the_ca_bundle_is_parsed_once_for_every_connection(tls_stand_in):
    # Given AWS over TLS, trusted through AWS_CA_BUNDLE (botocore's own bundle and the stand-in's CA), from source
    probe = first_request(tls_stand_in, AWS_CA_BUNDLE=tls_stand_in.ca_bundle)
    # Then DynamoDB's and KMS's connections are open after init, the verify reuses one, and the bundle was parsed
    # once in all (botocore has urllib3 load it into a context of its own for every new connection), as text
    assert probe.opened == 2 and probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.after == 2
    assert probe.status == 200 and probe.loads == [{"cafile": None, "capath": None, "cadata": True}]


def hashed(folder: Path, *bundles: str) -> Path:
    """A directory of hashed certificates holding those of `bundles`."""
    return ca_directory.write(
        folder, [der for bundle in bundles for der in ca_directory.certificates(Path(bundle).read_bytes())]
    )


def test_over_tls_a_directory_of_hashed_certificates_is_loaded_as_one(tls_stand_in, tmp_path):
    # Given AWS_CA_BUNDLE naming a directory of hashed certificates (botocore's own and the stand-in's CA), which
    # botocore alone would hand to OpenSSL as a file
    folder = hashed(tmp_path / "trusted", DEFAULT_CA_BUNDLE, tls_stand_in.ca)
    probe = first_request(tls_stand_in, AWS_CA_BUNDLE=str(folder))
    # Then it is loaded once, as a directory, and trusts the stand-in
    assert probe.loads == [{"cafile": None, "capath": str(folder), "cadata": False}]
    assert probe.opened == 2 and probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.after == 2
    assert probe.status == 200


@pytest.mark.parametrize("trust", ["bundle", "directory"])
def test_over_tls_a_server_the_bundle_does_not_trust_is_refused(tls_stand_in, tmp_path, trust):
    # Given a bundle without the stand-in's CA (botocore's own), as a file or a directory: the certificate is still
    # checked
    bundle = DEFAULT_CA_BUNDLE if trust == "bundle" else str(hashed(tmp_path / "untrusted", DEFAULT_CA_BUNDLE))
    probe = first_request(tls_stand_in, AWS_CA_BUNDLE=bundle, SEALING_KEY_ARN="")
    # Then the connection is made and refused: nothing reaches the stand-in, and the verify is the documented 503,
    # accepting nothing
    assert probe.opened >= 1 and probe.at_init == [] and probe.first == []
    assert (probe.status, probe.error) == (503, "state_unavailable")


@pytest.mark.parametrize("trust", ["bundle", "directory"])
def test_over_tls_the_hostname_is_checked(tls_stand_in, tmp_path, trust):
    # Given a bundle that trusts the stand-in's CA, and an endpoint whose name its certificate does not carry (it
    # names 127.0.0.1 alone)
    bundle = (
        tls_stand_in.ca_bundle if trust == "bundle" else str(hashed(tmp_path / "t", DEFAULT_CA_BUNDLE, tls_stand_in.ca))
    )
    port = tls_stand_in.server_address[1]
    probe = first_request(
        tls_stand_in, AWS_CA_BUNDLE=bundle, AWS_ENDPOINT_URL=f"https://localhost:{port}", SEALING_KEY_ARN=""
    )
    # Then the connection is refused: nothing reaches the stand-in
    assert probe.opened >= 1 and probe.at_init == [] and probe.first == []
    assert (probe.status, probe.error) == (503, "state_unavailable")


@pytest.mark.parametrize("bundle", ["/nonexistent/ca-bundle.pem", "empty directory"])
def test_a_bundle_that_does_not_load_fails_the_connections_not_the_init(tls_stand_in, tmp_path, bundle):
    # Given an AWS_CA_BUNDLE that is no file, or a directory with no certificate: botocore makes its clients, and
    # each connection fails, as before, with a clear answer
    if bundle == "empty directory":
        bundle = str(tmp_path)
    probe = first_request(tls_stand_in, AWS_CA_BUNDLE=bundle, SEALING_KEY_ARN="")
    assert probe.at_init == [] and probe.first == []
    assert (probe.status, probe.error) == (503, "state_unavailable")


def test_without_sealing_only_dynamodb_is_warmed_up(stand_in):
    probe = first_request(stand_in, SEALING_KEY_ARN="")
    assert probe.at_init == ["DynamoDB_20120810.GetItem", "DynamoDB_20120810.UpdateItem"] and probe.opened == 1


def test_a_snapshot_is_taken_without_connections(stand_in):
    # With SnapStart, connections made at init would be restored dead: none is opened
    probe = first_request(stand_in, ENABLE_SNAP_START="true")
    assert probe.at_init == [] and probe.opened == 0
    assert probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.after == 1


def test_init_does_not_wait_for_a_service_that_does_not_answer(stand_in, monkeypatch):
    # Given a DynamoDB that accepts connections and never answers
    monkeypatch.setattr(standin._StandIn, "do_POST", lambda self: time.sleep(5))
    probe = first_request(stand_in, SEALING_KEY_ARN="")
    # Then init waits WARM_UP_SECONDS for it, not the read timeout (2 s), and does not fail
    assert probe.opened == 1 and aws.WARM_UP_SECONDS <= probe.waited < aws.WARM_UP_SECONDS + 0.5
    assert probe.status == 503  # the request's own write timed out: the documented answer


def test_a_warm_up_is_bounded_in_time_and_never_fails(caplog):
    def hangs() -> None:
        time.sleep(3)

    def fails() -> None:
        raise ConnectionError("https://kms.eu-west-1.amazonaws.com/ refused (a detail not to log)")

    caplog.set_level(logging.DEBUG)
    start = time.monotonic()
    aws.warm_up(hangs, fails)
    assert time.monotonic() - start < aws.WARM_UP_SECONDS + 0.5
    records = [record for record in caplog.records if record.getMessage() == "connection warm-up failed"]
    assert len(records) == 1 and records[0].levelno == logging.DEBUG
    assert records[0].error_type == "ConnectionError"
    assert "refused" not in caplog.text and "amazonaws" not in caplog.text


@pytest.mark.parametrize("trust", ["bundle", "directory"])
def test_a_proxys_connections_load_the_trust_store_themselves(tmp_path, trust):
    # Given a client's HTTP session whose HTTPS goes through a proxy: its pools get a TLS context of their own
    from botocore.httpsession import URLLib3Session

    bundle = DEFAULT_CA_BUNDLE if trust == "bundle" else str(hashed(tmp_path / "trusted", DEFAULT_CA_BUNDLE))
    http = URLLib3Session(verify=bundle, proxies={"https": "http://127.0.0.1:9"})
    aws._trust_once(http)
    url = "https://dynamodb.eu-west-1.amazonaws.com/"
    pool = http._get_connection_manager(url, "http://127.0.0.1:9").connection_from_url(url)
    http._setup_ssl_cert(pool, url, http._verify)
    # Then the pool loads the bundle as botocore names it: a file as a file, a directory as a directory (botocore
    # alone would name the directory as a file, which OpenSSL cannot load)
    assert pool.conn_kw.get("ssl_context") is not aws.trust_context(bundle) and pool.cert_reqs == "CERT_REQUIRED"
    if trust == "bundle":
        assert (pool.ca_certs, pool.ca_cert_dir) == (bundle, None)
    else:
        assert (pool.ca_certs, pool.ca_cert_dir) == (None, bundle)
