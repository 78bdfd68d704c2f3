"""`make bench`: cold start, warm latency, package size and memory of otp-api against a baseline, in one run.

Prints one table and writes the same figures to bench-results.json. Every figure of ours is also given as a ratio
to the baseline's (a straightforward handler as tutorials write it: bench/baseline/). Cold starts run the built
package in fresh isolated interpreters (`-I -S -B`: no site-packages, nothing written back); AWS calls go through
the whole botocore pipeline and stop just before the HTTP send (bench/child.py).
"""

import argparse
import copy
import json
import marshal
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devserver import packaging  # noqa: E402

BUILD = ROOT / ".aws-sam" / "bench" / "build"
BASELINE_SITE = ROOT / ".venv" / "bench-baseline"
CHILD = ROOT / "bench" / "child.py"
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
FLAGS = ["-I", "-S", "-B"]
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "BUCKET_NAME": "otp-api-bench",
    "TABLE_NAME": "otp-api-bench",
    "POWERTOOLS_SERVICE_NAME": "otp-api",
    "POWERTOOLS_METRICS_NAMESPACE": "OtpApi",
    "DEFAULT_ISSUER": "otp-api",
    "SEALING_KEY": "alias/bench",
}


def event(base: str, body: dict) -> dict:
    result = copy.deepcopy(json.loads((ROOT / "events" / f"{base}.json").read_text()))
    result["body"] = json.dumps(body)
    return result


def sealed_token() -> str:
    """A token as child.py's identity "KMS" seals it: the prefix and the payload itself."""
    import base64

    sys.path.insert(0, str(ROOT / "layers" / "common"))
    from otp_api import sealing
    from otp_api.otp_key import OtpKey

    payload = sealing.payload(OtpKey(base64.b32decode(SECRET), "SHA1", 6, 30))
    return sealing.PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def otp_events() -> dict[str, dict]:
    import pyotp

    code = pyotp.TOTP(SECRET).now()
    verify = {"type": "time_based", "action": "verify", "secret": SECRET}
    generate = {"type": "time_based", "action": "generate", "label": "alice@example.com", "issuer": "Example Corp"}
    return {
        "verify_list": event("otp-verify", verify),
        "verify_code": event("otp-verify", {**verify, "code": code}),
        "verify_sealed": event(
            "otp-verify", {"type": "time_based", "action": "verify", "sealed_secret": sealed_token(), "code": code}
        ),
        "generate": event("otp-generate", generate),
        "generate_inline": event("otp-generate", {**generate, "qrcode": "inline"}),
    }


def barcode_events(symbologies=("qr_code", "aztec_code", "data_matrix")) -> dict[str, dict]:
    data = "https://example.com/orders/2026/11/26/0042?ref=bench"
    return {s: event("barcodes-post", {"type": s, "data": data, "scale": 4}) for s in symbologies}


def targets(runtime: Path) -> dict[str, dict]:
    layer = BUILD / "CommonLayer" / "python"
    base_site = [BASELINE_SITE, runtime]
    return {
        "otp": {"paths": [BUILD / "OtpFunction", layer, runtime], "events": otp_events(), "env": {}},
        "otp_stateless": {
            "paths": [BUILD / "OtpFunction", layer, runtime],
            "events": otp_events(),
            "env": {"REPLAY_PROTECTION": "false", "MAX_FAILED_ATTEMPTS": "0"},
        },
        "barcodes": {"paths": [BUILD / "BarcodesFunction", layer, runtime], "events": barcode_events(), "env": {}},
        "otp_warm_init": {
            "paths": [BUILD / "OtpFunction", layer, runtime],
            "events": otp_events(),
            "env": {"WARM_UP_AT_INIT": "true"},
        },
        "barcodes_stored": {
            "paths": [BUILD / "BarcodesFunction", layer, runtime],
            "events": barcode_events(),
            "env": {},
            "stored": True,
        },
        "empty": {"paths": [ROOT / "bench" / "empty"], "events": {}, "env": {}},
        "baseline_otp": {
            "paths": [ROOT / "bench" / "baseline" / "otp", *base_site],
            "env": {},
            "events": {k: v for k, v in otp_events().items() if k in ("verify_code", "generate")},
        },
        "baseline_barcodes": {
            "paths": [ROOT / "bench" / "baseline" / "barcodes", *base_site],
            "events": barcode_events(("qr_code",)),
            "env": {},
        },
    }


@dataclass(frozen=True)
class Cold:
    """A cold start: `target` initialised in a fresh process, then its first request of kind `first` (None: init
    only); its ratio is given against the cold case named `baseline`."""

    name: str
    target: str
    first: str | None
    baseline: str | None = None


BASE_INIT, BASE_VERIFY, BASE_GENERATE = (
    "baseline otp init",
    "baseline otp init + verify",
    "baseline otp init + generate",
)
COLD_CASES = [
    Cold("otp init", "otp", None, BASE_INIT),
    Cold("otp init + verify (list codes)", "otp", "verify_list", BASE_VERIFY),
    Cold("otp init + verify (code, replay/lockout)", "otp", "verify_code", BASE_VERIFY),
    Cold("otp init + verify (code, stateless)", "otp_stateless", "verify_code", BASE_VERIFY),
    Cold("otp init + verify (sealed secret)", "otp", "verify_sealed", BASE_VERIFY),
    Cold("otp init + generate", "otp", "generate", BASE_GENERATE),
    Cold("otp init + generate (qrcode inline)", "otp", "generate_inline", BASE_GENERATE),
    Cold("barcodes init + qr_code", "barcodes", "qr_code", "baseline barcodes init + qr_code"),
    Cold("otp warmed init + generate (SnapStart)", "otp_warm_init", "generate"),
    Cold("empty handler (the harness alone)", "empty", None),
    Cold(BASE_INIT, "baseline_otp", None),
    Cold(BASE_VERIFY, "baseline_otp", "verify_code"),
    Cold(BASE_GENERATE, "baseline_otp", "generate"),
    Cold("baseline barcodes init + qr_code", "baseline_barcodes", "qr_code"),
]


def run_child(target: dict, mode: str, work: Path, **extra) -> tuple[float, dict]:
    spec_path, result_path = work / "spec.marshal", work / "result.marshal"
    spec = {
        "paths": [str(p) for p in target["paths"]],
        "handler": "app.lambda_handler",
        "events": target["events"],
        "env": {**ENV, **target["env"]},
        "mode": mode,
        "result": str(result_path),
        "stored": target.get("stored", False),
        **extra,
    }
    spec_path.write_bytes(marshal.dumps(spec))
    start = time.perf_counter()
    subprocess.run([sys.executable, *FLAGS, str(CHILD), str(spec_path)], check=True, env={"PATH": os.environ["PATH"]})
    elapsed = time.perf_counter() - start
    return elapsed, marshal.loads(result_path.read_bytes())


def python_pass() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *FLAGS, "-c", "pass"], check=True)
    return time.perf_counter() - start


def prepare() -> Path:
    print("building the package (sam build + bytecode) ...", file=sys.stderr)
    packaging.build(BUILD, packaging.host_architecture())
    if not (BASELINE_SITE / "segno").exists():
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(BASELINE_SITE)]
        subprocess.run([*pip, "-r", str(ROOT / "bench" / "baseline" / "requirements.txt")], check=True)
    return packaging.runtime_site()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="cold starts per case (median)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json")
    args = parser.parse_args()
    runtime = prepare()
    all_targets = targets(runtime)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        samples: dict[str, list[float]] = {case.name: [] for case in COLD_CASES}
        first_requests: dict[str, list[float]] = {case.name: [] for case in COLD_CASES if case.first}
        samples["python -c pass"] = []
        print(f"cold starts: {args.runs} rounds of {len(samples)} cases ...", file=sys.stderr)
        for _ in range(args.runs):  # round-robin, so drift in machine load spreads over every case
            samples["python -c pass"].append(python_pass())
            for case in COLD_CASES:
                elapsed, result = run_child(all_targets[case.target], "cold", work, first=case.first)
                samples[case.name].append(elapsed)
                if case.first:
                    first_requests[case.name].append(result["first_request_ms"])
        cold = {name: statistics.median(values) * 1000 for name, values in samples.items()}
        first_ms = {name: statistics.median(values) for name, values in first_requests.items()}
        print("warm latency and memory ...", file=sys.stderr)
        warm, rss = {}, {}
        for name, target in all_targets.items():
            if name in ("empty", "otp_warm_init"):
                continue
            iterations = 2000 if name.endswith("otp") or name == "otp_stateless" else 200
            warm[name] = run_child(target, "warm", work, iterations=iterations)[1]
            if name != "barcodes_stored":  # the same function as "barcodes"
                rss[name] = run_child(target, "rss", work, requests=1000)[1]["peak_rss_mb"]
    sizes = {part.name: packaging.zipped_size(part) / 1e6 for part in sorted(BUILD.iterdir()) if part.is_dir()}
    sizes["baseline function + dependencies"] = (
        packaging.zipped_size(ROOT / "bench" / "baseline" / "otp") + packaging.zipped_size(BASELINE_SITE)
    ) / 1e6
    results = {
        "cold_ms": cold,
        "first_request_ms": first_ms,
        "cold_baseline_of": {case.name: case.baseline for case in COLD_CASES if case.baseline},
        "warm_ms": warm,
        "peak_rss_mb": rss,
        "zipped_mb": sizes,
        "python": sys.version.split()[0],
        "machine": os.uname().machine,
    }
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten to {args.output.relative_to(ROOT)}", file=sys.stderr)


def print_table(r: dict) -> None:
    cold, warm, rss, sizes = r["cold_ms"], r["warm_ms"], r["peak_rss_mb"], r["zipped_mb"]
    unit = cold["python -c pass"]
    print(f"\nCold start (median of runs, fresh process; python -c pass = {unit:.1f} ms)")
    print(f"{'case':44} {'ms':>8} {'x pass':>7} {'x baseline':>11} {'1st request':>12}")
    for name, ms in cold.items():
        base = r["cold_baseline_of"].get(name)
        ratio = f"{ms / cold[base]:.2f}" if base else ""
        first = f"{r['first_request_ms'][name]:.1f}" if name in r["first_request_ms"] else ""
        print(f"{name:44} {ms:8.1f} {ms / unit:7.1f} {ratio:>11} {first:>12}")
    print(f"\nWarm latency in process (median / p90 ms)\n{'case':44} {'median':>8} {'p90':>7} {'x baseline':>11}")
    pairs = [
        ("otp", "verify_list", "baseline_otp", "verify_code"),
        ("otp", "verify_code", "baseline_otp", "verify_code"),
        ("otp_stateless", "verify_code", "baseline_otp", "verify_code"),
        ("otp", "verify_sealed", "baseline_otp", "verify_code"),
        ("otp", "generate", "baseline_otp", "generate"),
        ("otp", "generate_inline", "baseline_otp", "generate"),
        ("barcodes", "qr_code", "baseline_barcodes", "qr_code"),
        ("barcodes", "aztec_code", None, None),
        ("barcodes", "data_matrix", None, None),
        ("barcodes_stored", "qr_code", "barcodes", "qr_code"),
        ("barcodes_stored", "aztec_code", "barcodes", "aztec_code"),
        ("baseline_otp", "verify_code", None, None),
        ("baseline_otp", "generate", None, None),
        ("baseline_barcodes", "qr_code", None, None),
    ]
    for target, kind, base_target, base_kind in pairs:
        m = warm[target][kind]
        ratio = f"{m['median_ms'] / warm[base_target][base_kind]['median_ms']:.2f}" if base_target else ""
        print(f"{target + ' ' + kind:44} {m['median_ms']:8.3f} {m['p90_ms']:7.3f} {ratio:>11}")
    print(f"\nPeak RSS after 1000 requests (MB)\n{'function':44} {'MB':>8} {'x baseline':>11}")
    for name, mb in rss.items():
        base = {"otp": "baseline_otp", "otp_stateless": "baseline_otp", "barcodes": "baseline_barcodes"}.get(name)
        print(f"{name:44} {mb:8.1f} {(f'{mb / rss[base]:.2f}' if base else ''):>11}")
    print(f"\nZipped size (MB)\n{'part':44} {'MB':>8}")
    for name, mb in sizes.items():
        print(f"{name:44} {mb:8.2f}")
    ours = sizes.get("OtpFunction", 0) + sizes.get("CommonLayer", 0)
    print(f"{'OtpFunction + CommonLayer':44} {ours:8.2f}")


if __name__ == "__main__":
    main()
