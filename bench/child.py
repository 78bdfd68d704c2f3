"""One measurement in a fresh interpreter, run by bench/__main__.py as `python -I -S -B child.py SPEC`.

It imports nothing of the repository: the handler sees only the paths in the spec (function, layer, runtime boto3).
AWS calls go to the loopback stand-in (bench/standin.py, AWS_ENDPOINT_URL): a real socket and HTTP round trip.
A cold run reports the init (importing the handler: what Lambda's init phase does) and the first request after it
separately, and when the first answer was there (`answered_ns`, time.time_ns: the parent's clock too); the parent
times the process from its start to that moment (the whole cold start) and to its exit (which Lambda never waits
for: the interpreter's teardown is no part of a cold start). Within the init it also times what botocore's Session() and
create_client take (the baseline's boto3 client included) and the functions' connection warm-up (aws.warm_up):
the rest is imports and module bodies.
"""

import importlib
import marshal  # built in: the spec and result travel without importing json (8 ms) before the measured import
import os
import sys
import time

with open(sys.argv[1], "rb") as spec_file:
    SPEC = marshal.load(spec_file)


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 1024, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


SPENT = {"clients": 0.0, "warm_up": 0.0}  # seconds within the init


def _timed(function, bucket: str):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[bucket] += time.perf_counter() - start

    return timed


def _time_botocore(module) -> None:
    module.Session.__init__ = _timed(module.Session.__init__, "clients")
    module.Session.create_client = _timed(module.Session.create_client, "clients")


def _time_warm_up(module) -> None:
    if hasattr(module, "warm_up"):
        module.warm_up = _timed(module.warm_up, "warm_up")


WATCHED = {"botocore.session": _time_botocore, "otp_api.aws": _time_warm_up}


class _Watch:
    """Times a few functions of modules the handler imports, wrapped as each module is first loaded (a finder that
    costs one dict lookup per import otherwise)."""

    @classmethod
    def find_spec(cls, name, path, target=None):
        if name not in WATCHED:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec and spec.loader:
            execute = spec.loader.exec_module

            def exec_module(module):
                execute(module)
                WATCHED[name](module)

            spec.loader.exec_module = exec_module
        return spec


def main() -> None:
    os.environ.update(SPEC["env"])
    sys.meta_path.insert(0, _Watch)
    sys.path[:0] = SPEC["paths"]
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the functions' logs and metrics: written, as in Lambda, but not shown
    module_name, handler_name = SPEC["handler"].rsplit(".", 1)
    start = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), handler_name)
    result = {"init_ms": (time.perf_counter() - start) * 1000, "answered_ns": time.time_ns()}
    result.update({f"{bucket}_ms": seconds * 1000 for bucket, seconds in SPENT.items()})
    events = SPEC["events"]
    if SPEC["mode"] == "cold":  # init, then the first request of the named kind
        if SPEC.get("first"):
            start = time.perf_counter()
            response = handler(events[SPEC["first"]], Context())
            result["first_request_ms"] = (time.perf_counter() - start) * 1000
            assert response["statusCode"] < 400, response
        result["answered_ns"] = time.time_ns()
    elif SPEC["mode"] == "warm":
        for kind, event in events.items():
            response = handler(event, Context())  # warm up, and check the request is served
            assert response["statusCode"] < 400, (kind, response)
            timings = []
            for _ in range(SPEC["iterations"]):
                start_ns = time.perf_counter_ns()
                handler(event, Context())
                timings.append(time.perf_counter_ns() - start_ns)
            timings.sort()
            result[kind] = {
                "min_ms": timings[0] / 1e6,
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
