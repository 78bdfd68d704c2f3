"""`make bench`: cold start, warm latency, package size and memory of otp-api against baselines, in one run.

Prints one table and writes the same figures to bench-results.json. Cold starts run the built package in fresh
isolated interpreters (`-I -S -B`: no site-packages, nothing written back), round-robin over the cases, and report
min, median and p90 of: the init (importing the handler, Lambda's init phase), the first request after it, and the
whole cold start (process start to first answer; the time to the process's exit, which adds the interpreter's
teardown that Lambda never waits for, is printed apart and kept as `to_exit_ms`); the init also split into imports,
client creation (botocore's Session and create_client) and the connection warm-up. AWS calls go to a loopback
stand-in (bench/standin.py): a real socket, TLS handshake and HTTP round trip, with a certificate made for the run.
The baselines are the handler most tutorials write (bench/baseline/), as `sam build` ships it (no bytecode) and as a
careful user ships it (with bytecode). The first request after init is also given as a multiple of the warm request
of its kind.

Why not pyperf or hyperfine: both time a whole command (or a loop inside one), and the figures that matter here are
inside a cold process: init and first request apart. The harness is small (child.py) and reports the same
statistics (min, median, p90) over the same kind of fresh processes.
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

from bench.standin import STORED_BUCKET  # noqa: E402
from tooling import packaging  # noqa: E402

BUILD = ROOT / ".aws-sam" / "bench" / "build"
BASELINE_SITE = ROOT / ".venv" / "bench-baseline"
BASELINE_PYC = ROOT / ".aws-sam" / "bench" / "baseline-bytecode"  # the same, compiled as `sam build` does not
CHILD = ROOT / "bench" / "child.py"
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
FLAGS = ["-I", "-S", "-B"]
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "IMAGE_BUCKET_NAME": "otp-api-bench",
    "VERIFY_STATE_TABLE_NAME": "otp-api-bench",
    "POWERTOOLS_SERVICE_NAME": "otp-api",
    "POWERTOOLS_METRICS_NAMESPACE": "OtpApi",
    "DEFAULT_ISSUER": "otp-api",
    "SEALING_KEY_ARN": "alias/bench",
    "AWS_ENDPOINT_URL": "",  # the stand-in's, once started (main)
    "AWS_CA_BUNDLE": "",  # botocore's bundle and the stand-in's throwaway CA
}


def event(base: str, body: dict) -> dict:
    result = copy.deepcopy(json.loads((ROOT / "events" / f"{base}.json").read_text()))
    result["body"] = json.dumps(body)
    return result


def sealed_token() -> str:
    """A token as child.py's identity "KMS" seals it: the prefix and the payload itself."""
    import base64

    sys.path.insert(0, str(ROOT / "layers" / "common"))
    from otp_api import spellings
    from otp_api.oath import TOTP, OtpKey

    payload = spellings.sealed_payload(OtpKey(TOTP, base64.b32decode(SECRET), "SHA1", 6, 30))
    return spellings.SEALED_SECRET.prefix + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def sealed_codes(code: str) -> str:
    """A set of recovery codes as the identity "KMS" seals it: `code` is its first."""
    import base64
    import struct

    sys.path.insert(0, str(ROOT / "layers" / "common"))
    from otp_api.kinds import recovery_codes

    set_id = b"\x01" * 16
    plain = struct.pack(">B16sB", 1, set_id, 2) + recovery_codes._hash(set_id, code) + b"\x00" * 16
    return recovery_codes.SEALED_CODES.prefix + base64.urlsafe_b64encode(plain).decode().rstrip("=")


def otp_events() -> dict[str, dict]:
    import pyotp

    code = pyotp.TOTP(SECRET).now()
    recovery = "K7QM2XW9HF"
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
        "verify_hotp": event(
            "otp-verify", {"type": "hotp", "action": "verify", "secret": SECRET, "code": pyotp.HOTP(SECRET).at(0)}
        ),
        "verify_recovery": event(
            "otp-verify",
            {"type": "recovery_codes", "action": "verify", "sealed_codes": sealed_codes(recovery), "code": recovery},
        ),
    }


def barcode_events(symbologies=("qr_code", "aztec_code", "data_matrix")) -> dict[str, dict]:
    data = "https://example.com/orders/2026/11/26/0042?ref=bench"
    return {s: event("barcodes-post", {"type": s, "data": data, "scale": 4}) for s in symbologies}


def functions_trust(ca: Path, folder: Path, layer: Path = BUILD / "CommonLayer" / "python") -> Path:
    """The functions' AWS_CA_BUNDLE: a directory of hashed certificates holding the built layer's own (the bundle
    botocore chooses in Lambda, scripts/ca_directory.py) and the stand-in's throwaway CA, so that their connections
    take the path they take in Lambda: OpenSSL reads a directory, as a chain needs it (aws.trust_context)."""
    from scripts import ca_directory

    (shipped,) = (layer / "otp_api" / "ca_certificates").iterdir()
    return ca_directory.write(folder, [*ca_directory.read(shipped), *ca_directory.certificates(ca.read_bytes())])


def targets(runtime: Path, trust: str = "") -> dict[str, dict]:
    """The cases' functions and baselines; the functions (not the baselines, whose botocore takes a file alone)
    trust the stand-in through the directory `trust`."""
    layer = BUILD / "CommonLayer" / "python"
    base_site = [BASELINE_SITE, runtime]
    careful_site = [BASELINE_PYC / "otp", BASELINE_PYC / "site", runtime]
    ours = {"AWS_CA_BUNDLE": trust} if trust else {}
    return {
        "otp": {"paths": [BUILD / "OtpFunction", layer, runtime], "events": otp_events(), "env": {**ours}},
        "otp_stateless": {  # (HOTP and recovery codes need the state)
            "paths": [BUILD / "OtpFunction", layer, runtime],
            "events": {k: v for k, v in otp_events().items() if k not in ("verify_hotp", "verify_recovery")},
            "env": {**ours, "REPLAY_PROTECTION": "false", "MAX_FAILED_ATTEMPTS": "0"},
        },
        "barcodes": {
            "paths": [BUILD / "BarcodesFunction", layer, runtime],
            "events": barcode_events(),
            "env": {**ours},
        },
        "otp_warm_init": {
            "paths": [BUILD / "OtpFunction", layer, runtime],
            "events": otp_events(),
            "env": {**ours, "ENABLE_SNAP_START": "true"},
        },
        "barcodes_stored": {
            "paths": [BUILD / "BarcodesFunction", layer, runtime],
            "events": barcode_events(),
            "env": {**ours, "IMAGE_BUCKET_NAME": STORED_BUCKET},
        },
        "empty": {"paths": [ROOT / "bench" / "empty"], "events": {}, "env": {}},
        "baseline_otp": {
            "paths": [ROOT / "bench" / "baseline" / "otp", *base_site],
            "env": {},
            "events": {k: v for k, v in otp_events().items() if k in ("verify_code", "generate")},
        },
        "careful_baseline_otp": {
            "paths": careful_site,
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
    "careful baseline otp init",
    "careful baseline otp + verify",
    "careful baseline otp + generate",
)
COLD_CASES = [
    Cold("otp init", "otp", None, BASE_INIT),
    Cold("otp + verify (list codes)", "otp", "verify_list", BASE_VERIFY),
    Cold("otp + verify (code, replay/lockout)", "otp", "verify_code", BASE_VERIFY),
    Cold("otp + verify (code, stateless)", "otp_stateless", "verify_code", BASE_VERIFY),
    Cold("otp + verify (sealed secret)", "otp", "verify_sealed", BASE_VERIFY),
    Cold("otp + verify (hotp)", "otp", "verify_hotp", BASE_VERIFY),
    Cold("otp + verify (recovery code)", "otp", "verify_recovery", BASE_VERIFY),
    Cold("otp + generate", "otp", "generate", BASE_GENERATE),
    Cold("otp + generate (qrcode inline)", "otp", "generate_inline", BASE_GENERATE),
    Cold("barcodes + qr_code", "barcodes", "qr_code", "baseline barcodes + qr_code"),
    Cold("otp SnapStart-warmed init + generate", "otp_warm_init", "generate"),
    Cold("empty handler (the harness alone)", "empty", None),
    Cold(BASE_INIT, "careful_baseline_otp", None),
    Cold(BASE_VERIFY, "careful_baseline_otp", "verify_code"),
    Cold(BASE_GENERATE, "careful_baseline_otp", "generate"),
    Cold("baseline otp + verify (no bytecode)", "baseline_otp", "verify_code"),
    Cold("baseline otp + generate (no bytecode)", "baseline_otp", "generate"),
    Cold("baseline barcodes + qr_code", "baseline_barcodes", "qr_code"),
]


# The Lambda runtime's botocore moves every few weeks: the same cases again with the newest the registry serves
# (the layer's own botocore runs either way; the baselines use the runtime's).
NEWEST = "runtime botocore {version}"
NEWEST_TARGETS = ("otp", "barcodes", "careful_baseline_otp", "baseline_barcodes")
NEWEST_CASES = (
    "otp init",
    "otp + verify (code, replay/lockout)",
    "otp + verify (sealed secret)",
    "otp + generate",
    "barcodes + qr_code",
    BASE_INIT,
    BASE_VERIFY,
    BASE_GENERATE,
    "baseline barcodes + qr_code",
)


def newest_cases(version: str) -> list[Cold]:
    """NEWEST_CASES on the newest runtime botocore: targets `<name>@newest`, names suffixed, against the baseline on
    the same runtime."""
    suffix = f" [{NEWEST.format(version=version)}]"
    return [
        Cold(
            case.name + suffix,
            case.target + "@newest",
            case.first,
            case.baseline + suffix if case.baseline else None,
        )
        for case in COLD_CASES
        if case.name in NEWEST_CASES
    ]


def run_child(target: dict, mode: str, work: Path, **extra) -> tuple[float, dict]:
    """Run `target` in a fresh interpreter; the seconds from the process's start to its exit, and its result (a cold
    run's `answered_ns` is when its first answer was there, or its init ended: time.time_ns, as `started_ns`)."""
    spec_path, result_path = work / "spec.marshal", work / "result.marshal"
    spec = {
        "paths": [str(p) for p in target["paths"]],
        "handler": "app.lambda_handler",
        "events": target["events"],
        "env": {**ENV, **target["env"]},
        "mode": mode,
        "result": str(result_path),
        **extra,
    }
    spec_path.write_bytes(marshal.dumps(spec))
    started_ns, start = time.time_ns(), time.perf_counter()
    subprocess.run([sys.executable, *FLAGS, str(CHILD), str(spec_path)], check=True, env={"PATH": os.environ["PATH"]})
    elapsed = time.perf_counter() - start
    return elapsed, {**marshal.loads(result_path.read_bytes()), "started_ns": started_ns}


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"min": ordered[0], "median": statistics.median(ordered), "p90": ordered[int(len(ordered) * 0.9)]}


def python_pass() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *FLAGS, "-c", "pass"], check=True)
    return time.perf_counter() - start


def prepare() -> tuple[Path, Path, str]:
    print("building the package (sam build + bytecode) ...", file=sys.stderr)
    packaging.build(BUILD, packaging.host_architecture())
    if not (BASELINE_SITE / "segno").exists():
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(BASELINE_SITE)]
        subprocess.run([*pip, "-r", str(ROOT / "bench" / "baseline" / "requirements.txt")], check=True)
    if not (BASELINE_PYC / "site" / "segno").exists():  # the careful tutorial user: bytecode in the package
        import shutil

        shutil.rmtree(BASELINE_PYC, ignore_errors=True)
        shutil.copytree(BASELINE_SITE, BASELINE_PYC / "site")
        shutil.copytree(ROOT / "bench" / "baseline" / "otp", BASELINE_PYC / "otp")
        compile_all = [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
        subprocess.run([*compile_all, str(BASELINE_PYC)], check=True)
    newest = packaging.newest_botocore()
    return packaging.runtime_site(), packaging.runtime_site(newest), newest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="cold starts per case (median)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json")
    args = parser.parse_args()
    runtime, newest_runtime, newest = prepare()
    from bench import standin

    stand_in = standin.start(tls=True)
    ENV["AWS_ENDPOINT_URL"], ENV["AWS_CA_BUNDLE"] = stand_in.url, stand_in.ca_bundle
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trust = str(functions_trust(Path(stand_in.ca), work / "trusted"))
        all_targets = targets(runtime, trust)
        newest_targets = targets(newest_runtime, trust)
        cold_targets = {**all_targets, **{f"{name}@newest": newest_targets[name] for name in NEWEST_TARGETS}}
        cold_cases = COLD_CASES + (newest_cases(newest) if newest != packaging.layer_pin("botocore") else [])
        samples: dict[str, list[float]] = {case.name: [] for case in cold_cases}  # to the first answer
        to_exit: dict[str, list[float]] = {case.name: [] for case in cold_cases}
        inits: dict[str, list[float]] = {case.name: [] for case in cold_cases}
        parts: dict[str, dict[str, list[float]]] = {
            part: {case.name: [] for case in cold_cases} for part in ("imports", "clients", "warm_up")
        }
        first_requests: dict[str, list[float]] = {case.name: [] for case in cold_cases if case.first}
        samples["python -c pass"] = []
        print(f"cold starts: {args.runs} rounds of {len(samples)} cases ...", file=sys.stderr)
        for _ in range(args.runs):  # round-robin, so drift in machine load spreads over every case
            samples["python -c pass"].append(python_pass() * 1000)
            for case in cold_cases:
                elapsed, result = run_child(cold_targets[case.target], "cold", work, first=case.first)
                samples[case.name].append((result["answered_ns"] - result["started_ns"]) / 1e6)
                to_exit[case.name].append(elapsed * 1000)
                inits[case.name].append(result["init_ms"])
                parts["clients"][case.name].append(result["clients_ms"])
                parts["warm_up"][case.name].append(result["warm_up_ms"])
                parts["imports"][case.name].append(result["init_ms"] - result["clients_ms"] - result["warm_up_ms"])
                if case.first:
                    first_requests[case.name].append(result["first_request_ms"])
        cold = {name: spread(values) for name, values in samples.items()}
        to_exit_ms = {name: spread(values) for name, values in to_exit.items()}
        init_ms = {name: spread(values) for name, values in inits.items()}
        init_parts_ms = {
            part: {name: spread(values) for name, values in by_case.items()} for part, by_case in parts.items()
        }
        first_ms = {name: spread(values) for name, values in first_requests.items()}
        print("warm latency and memory ...", file=sys.stderr)
        warm, rss = {}, {}
        for name, target in all_targets.items():
            if name in ("empty", "otp_warm_init"):
                continue
            iterations = 1000 if name.endswith("otp") or name == "otp_stateless" else 200
            warm[name] = run_child(target, "warm", work, iterations=iterations)[1]
            if name != "barcodes_stored":  # the same function as "barcodes"
                rss[name] = run_child(target, "rss", work, requests=1000)[1]["peak_rss_mb"]
    sizes = {part.name: packaging.zipped_size(part) / 1e6 for part in sorted(BUILD.iterdir()) if part.is_dir()}
    sizes["baseline function + dependencies"] = (
        packaging.zipped_size(ROOT / "bench" / "baseline" / "otp") + packaging.zipped_size(BASELINE_SITE)
    ) / 1e6
    results = {
        "cold_ms": cold,
        "to_exit_ms": to_exit_ms,
        "init_ms": init_ms,
        "init_parts_ms": init_parts_ms,
        "first_request_ms": first_ms,
        "cold_baseline_of": {case.name: case.baseline for case in cold_cases if case.baseline},
        # (the warm request of the same kind: the same code on either runtime, measured on the pinned one)
        "cold_request_of": {case.name: [case.target.split("@")[0], case.first] for case in cold_cases if case.first},
        "runtime_botocore": {"pin": packaging.layer_pin("botocore"), "newest": newest},
        "warm_ms": warm,
        "peak_rss_mb": rss,
        "zipped_mb": sizes,
        "python": sys.version.split()[0],
        "machine": os.uname().machine,
    }
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output  # --output anywhere
    print(f"\nwritten to {shown}", file=sys.stderr)


def print_table(r: dict) -> None:
    cold, init, first, warm, rss, sizes = (
        r["cold_ms"],
        r["init_ms"],
        r["first_request_ms"],
        r["warm_ms"],
        r["peak_rss_mb"],
        r["zipped_mb"],
    )
    unit = cold["python -c pass"]["median"]
    print(f"\nCold start: min / median / p90 ms of fresh processes (python -c pass = {unit:.1f} ms median)")
    print(
        f"{'case':40} {'init':>18} {'1st request after init':>24} {'x warm':>6} {'whole cold start':>20}"
        f" {'x baseline':>10}"
    )

    def three(values: dict[str, float]) -> str:
        return f"{values['min']:.1f} / {values['median']:.1f} / {values['p90']:.1f}"

    def warm_median(name: str) -> float | None:
        target, kind = r["cold_request_of"].get(name, (None, None))
        return warm.get(target, {}).get(kind, {}).get("median_ms")

    for name, whole in cold.items():
        if name == "python -c pass":
            continue
        base = r["cold_baseline_of"].get(name)
        ratio = f"{whole['median'] / cold[base]['median']:.2f}" if base else ""
        after = three(first[name]) if name in first else ""
        of_warm = f"{first[name]['median'] / warm_median(name):.1f}" if name in first and warm_median(name) else ""
        print(f"{name:40} {three(init[name]):>18} {after:>24} {of_warm:>6} {three(whole):>20} {ratio:>10}")
    exits = r["to_exit_ms"]
    print("\nTo the process's exit (the interpreter's teardown added, which Lambda never waits for), median ms")
    for name, whole in exits.items():
        base = r["cold_baseline_of"].get(name)
        ratio = f"{whole['median'] / exits[base]['median']:.2f}" if base else ""
        print(f"{name:40} {whole['median']:>24.1f} {ratio:>10}")
    split = r["init_parts_ms"]
    print("\nInit split: imports (and module bodies) / client creation / connection warm-up, median ms")
    for name in init:
        figures = " / ".join(f"{split[part][name]['median']:.1f}" for part in ("imports", "clients", "warm_up"))
        print(f"{name:40} {figures:>24}")
    print("\nWarm latency in process, AWS over loopback (min / median / p90 ms)")
    print(f"{'case':40} {'ms':>24} {'x baseline':>10}")
    pairs = [
        ("otp", "verify_list", "careful_baseline_otp", "verify_code"),
        ("otp", "verify_code", "careful_baseline_otp", "verify_code"),
        ("otp_stateless", "verify_code", "careful_baseline_otp", "verify_code"),
        ("otp", "verify_sealed", "careful_baseline_otp", "verify_code"),
        ("otp", "verify_hotp", "careful_baseline_otp", "verify_code"),
        ("otp", "verify_recovery", "careful_baseline_otp", "verify_code"),
        ("otp", "generate", "careful_baseline_otp", "generate"),
        ("otp", "generate_inline", "careful_baseline_otp", "generate"),
        ("barcodes", "qr_code", "baseline_barcodes", "qr_code"),
        ("barcodes", "aztec_code", None, None),
        ("barcodes", "data_matrix", None, None),
        ("barcodes_stored", "qr_code", "barcodes", "qr_code"),
        ("barcodes_stored", "aztec_code", "barcodes", "aztec_code"),
        ("careful_baseline_otp", "verify_code", None, None),
        ("careful_baseline_otp", "generate", None, None),
        ("baseline_barcodes", "qr_code", None, None),
    ]
    for target, kind, base_target, base_kind in pairs:
        m = warm[target][kind]
        ratio = f"{m['median_ms'] / warm[base_target][base_kind]['median_ms']:.2f}" if base_target else ""
        figures = f"{m['min_ms']:.3f} / {m['median_ms']:.3f} / {m['p90_ms']:.3f}"
        print(f"{target + ' ' + kind:40} {figures:>24} {ratio:>10}")
    print(f"\nPeak RSS after 1000 requests (MB)\n{'function':40} {'MB':>8}")
    for name, mb in rss.items():
        print(f"{name:40} {mb:8.1f}")
    print(f"\nZipped size (MB)\n{'part':40} {'MB':>8}")
    for name, mb in sizes.items():
        print(f"{name:40} {mb:8.2f}")
    ours = sizes.get("OtpFunction", 0) + sizes.get("CommonLayer", 0)
    print(f"{'OtpFunction + CommonLayer':40} {ours:8.2f}")


if __name__ == "__main__":
    main()
