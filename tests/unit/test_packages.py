"""otp_api/packages.py: a package entered without its __init__ still gives every name it has, and one imported
before is left as it is; here urllib3's HTTP/2 package, as aws.py enters it, in fresh interpreters as Lambda's init
runs them (Powertools' packages: test_powertools.py)."""

import subprocess
import sys

from support import ROOT

PROBE = """
import sys
sys.path.insert(0, {layer!r})
{before}
from otp_api import aws
aws._session()  # botocore's session and with it urllib3, as the first client makes them
import urllib3
import urllib3.connection  # (what botocore's connections use: its HTTP/2 probe, not the package's __init__)
metadata_at_init = "importlib.metadata" in sys.modules
bound = urllib3.http2 is sys.modules["urllib3.http2"]
from urllib3.http2 import inject_into_urllib3  # the package's own __init__, run now
import urllib3.http2 as again
print(metadata_at_init, bound, callable(inject_into_urllib3), again is urllib3.http2,
      "importlib.metadata" in sys.modules)
"""


def run(before: str = "") -> list[str]:
    code = PROBE.format(layer=str(ROOT / "layers" / "common"), before=before)
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "eu-west-1", "IMAGE_BUCKET_NAME": "probe"}
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True, env=env)
    return result.stdout.split()


def test_urllib3_loads_without_its_http2_package_init_and_every_name_is_still_there():
    # importlib.metadata is not imported for botocore's connections, and urllib3.http2 is where an import puts it
    assert run() == ["False", "True", "True", "True", "True"]


def test_a_urllib3_imported_before_is_left_as_it_is():
    assert run("import urllib3") == ["True", "True", "True", "True", "True"]
