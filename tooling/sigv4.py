"""SigV4 for execute-api, as a caller signs: the key pair and botocore's signer. The e2e suite signs with it (a
deployed `ApiAuth=iam` stack, or `OTP_API_AUTH=iam make dev`); the local server's check is devserver/sigv4.py."""

from dataclasses import dataclass

SERVICE = "execute-api"


@dataclass(frozen=True)
class KeyPair:
    access_key: str
    secret_key: str
    token: str | None = None  # a session token, for temporary credentials

    def __repr__(self) -> str:  # never the secret
        return f"KeyPair({self.access_key})"


def sign(
    pair: KeyPair, method: str, url: str, headers: dict[str, str], body: bytes | None, region: str
) -> dict[str, str]:
    """The headers of a request signed with `pair` (and its session token, if any) for execute-api in `region`."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
    SigV4Auth(Credentials(pair.access_key, pair.secret_key, pair.token), SERVICE, region).add_auth(request)
    return dict(request.headers.items())
