"""The built layer trusts what botocore would, read lazily: the bundle botocore chooses with the layer (its own
cacert.pem; certifi's, were certifi in it) is shipped as a directory of hashed certificates (the Makefile's
build-CommonLayer, scripts/ca_directory.py) holding exactly its certificates, and the built function loads that
directory instead of the bundle: a server it does not trust is refused, and an AWS_CA_BUNDLE (a file, or a
directory as the bench gives one) is trusted as before. Against the bench's TLS stand-in (bench/standin.py)."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from init_probe import first_request

from bench import __main__ as bench
from bench import standin
from scripts import ca_directory
from tooling import packaging

CHOSEN = """
import json, sys
sys.path[:0] = sys.argv[1:]
from botocore.httpsession import get_cert_path
print(json.dumps(get_cert_path(True)))
"""


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return packaging.build(tmp_path_factory.mktemp("sam") / "build", packaging.host_architecture())


@pytest.fixture(scope="module")
def built(build_dir) -> list[Path]:
    """The OTP function as Lambda runs it: its folder, the layer, the runtime's botocore."""
    return [build_dir / "OtpFunction", build_dir / "CommonLayer" / "python", packaging.runtime_site()]


@pytest.fixture(scope="module")
def tls_stand_in():
    server = standin.start(tls=True)
    yield server
    server.shutdown()


def shipped(build_dir: Path) -> Path:
    (folder,) = (build_dir / "CommonLayer" / "python" / "otp_api" / "ca_certificates").iterdir()
    return folder


def test_the_layer_holds_exactly_the_certificates_of_the_bundle_botocore_chooses(build_dir, built):
    # Given the bundle botocore chooses in an interpreter with the layer and the runtime alone
    found = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHOSEN, *map(str, built[1:])], capture_output=True, text=True, check=True
    )
    bundle = Path(json.loads(found.stdout))
    assert bundle.is_relative_to(build_dir / "CommonLayer" / "python")  # the layer's botocore's own
    # Then the layer's directory is named after its bytes and holds its certificates, no more and no fewer
    folder = shipped(build_dir)
    assert folder.name == hashlib.sha256(bundle.read_bytes()).hexdigest()
    held, given = ca_directory.read(folder), ca_directory.certificates(bundle.read_bytes())
    assert len(held) == len(set(held)) == len(set(given)) and set(held) == set(given)
    for path in folder.iterdir():  # each named by its subject's hash, as OpenSSL looks it up
        (der,) = ca_directory.certificates(path.read_bytes())
        assert path.name.split(".")[0] == f"{ca_directory.subject_hash(der):08x}"


def test_the_built_function_loads_the_directory_and_refuses_a_server_it_does_not_trust(build_dir, built, tls_stand_in):
    # Given the built function with no AWS_CA_BUNDLE: the bundle botocore chooses, which does not trust the stand-in
    probe = first_request(tls_stand_in, built)
    # Then the layer's directory is what was loaded, once, and no bundle was parsed
    assert probe.loads == [{"cafile": None, "capath": str(shipped(build_dir)), "cadata": False}]
    # and the stand-in's certificate is refused: connections made, nothing sent, the documented 503
    assert probe.opened >= 1 and probe.at_init == [] and probe.first == []
    assert (probe.status, probe.error) == (503, "state_unavailable")


def test_the_built_function_trusts_a_directory_as_the_bench_gives_it(build_dir, built, tls_stand_in, tmp_path):
    # Given the bench's AWS_CA_BUNDLE: the layer's certificates and the stand-in's CA, hashed
    folder = bench.functions_trust(Path(tls_stand_in.ca), tmp_path / "trusted", build_dir / "CommonLayer" / "python")
    assert set(ca_directory.read(folder)) == {
        *ca_directory.read(shipped(build_dir)),
        *ca_directory.certificates(Path(tls_stand_in.ca).read_bytes()),
    }
    probe = first_request(tls_stand_in, built, AWS_CA_BUNDLE=str(folder))
    # Then it is loaded as a directory, once, and the verify goes over the connection opened at init
    assert probe.loads == [{"cafile": None, "capath": str(folder), "cadata": False}]
    assert probe.opened == 2 and probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.after == 2
    assert probe.status == 200


def test_the_built_function_parses_a_bundle_file_of_its_own_once(built, tls_stand_in):
    # Given AWS_CA_BUNDLE naming a file the layer has no directory for (certificates and the stand-in's CA)
    probe = first_request(tls_stand_in, built, AWS_CA_BUNDLE=tls_stand_in.ca_bundle)
    # Then it is parsed once, as before, and trusted
    assert probe.loads == [{"cafile": None, "capath": None, "cadata": True}]
    assert probe.opened == 2 and probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.status == 200
