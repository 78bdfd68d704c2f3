"""One measurement in a fresh interpreter, run by bench/__main__.py as `python -I -S -B child.py SPEC`.

It imports nothing of the repository: the handler sees only the paths in the spec (function, layer, runtime boto3).
AWS is short-circuited just before the HTTP send: botocore serialises, checksums and signs every request as in
Lambda, then gets a canned answer instead of a network round trip.
"""

import importlib
import importlib.util
import marshal  # built in: the spec and result travel without importing json (8 ms) before the measured import
import os
import sys
import time

with open(sys.argv[1], "rb") as spec_file:
    SPEC = marshal.load(spec_file)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_args, **_kwargs):
        yield self._body


def _fake_send(self, request):
    from botocore.awsrequest import AWSResponse

    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else target
    if "TrentService" in target:  # KMS, as an identity cipher: Encrypt's blob is the plaintext, and back
        import json

        sent = json.loads(request.body)
        field = "CiphertextBlob" if target.endswith("Encrypt") else "Plaintext"
        blob = sent.get("Plaintext") or sent.get("CiphertextBlob")
        body = json.dumps({field: blob, "KeyId": "arn:aws:kms:us-east-1:000000000000:key/bench"}).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))
    if "DynamoDB" in target:
        # An accepted code's item as UpdateItem answers it (ALL_NEW): its step and the decision that wrote it.
        body = b'{"Attributes": {"last_used": {"N": "%d"}, "decided_by": {"S": "bench"}}}' % int(time.time())
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))
    if request.method == "HEAD" and SPEC.get("stored"):  # the image is in the bucket already
        headers = {
            "Last-Modified": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
            "x-amz-meta-width": "228",
            "x-amz-meta-height": "228",
        }
        return AWSResponse(request.url, 200, headers, _Raw(b""))
    if request.method == "HEAD":  # not stored yet: the request renders and puts it
        return AWSResponse(request.url, 404, {}, _Raw(b""))
    return AWSResponse(request.url, 200, {"ETag": '"0"'}, _Raw(b""))


class _PatchBotocoreSend:  # a meta path finder; not importlib.abc's class, whose import costs 30 ms
    """Replace URLLib3Session.send when botocore.httpsession is first imported (not before: importing botocore
    here would move its cost out of what is measured)."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "botocore.httpsession":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            module.URLLib3Session.send = _fake_send

        spec.loader.exec_module = exec_module
        return spec


def main() -> None:
    sys.meta_path.insert(0, _PatchBotocoreSend())
    os.environ.update(SPEC["env"])
    sys.path[:0] = SPEC["paths"]
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the functions' logs and metrics: written, as in Lambda, but not shown

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "bench"
        invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"

    module_name, handler_name = SPEC["handler"].rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), handler_name)
    events = SPEC["events"]
    result = {}
    if SPEC["mode"] == "cold":  # init, then the first request of the named kind
        if SPEC.get("first"):
            start = time.perf_counter()
            response = handler(events[SPEC["first"]], Context())
            result["first_request_ms"] = (time.perf_counter() - start) * 1000
            assert response["statusCode"] < 400, response
    elif SPEC["mode"] == "warm":
        for kind, event in events.items():
            response = handler(event, Context())  # warm up, and check the request is served
            assert response["statusCode"] < 400, (kind, response)
            timings = []
            for _ in range(SPEC["iterations"]):
                start = time.perf_counter_ns()
                handler(event, Context())
                timings.append(time.perf_counter_ns() - start)
            timings.sort()
            result[kind] = {
                "median_ms": timings[len(timings) // 2] / 1e6,
                "p90_ms": timings[len(timings) * 9 // 10] / 1e6,
            }
    elif SPEC["mode"] == "rss":
        import resource

        kinds = list(events)
        for i in range(SPEC["requests"]):
            handler(events[kinds[i % len(kinds)]], Context())
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(SPEC["result"], "wb") as out:
        marshal.dump(result, out)


main()
