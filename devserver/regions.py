"""`make dev REGIONS=3`: three Regions' APIs on PORT, PORT+1 and PORT+2, each a local server of its own (a process
running `python -m devserver --region ...`: its own functions, with its own AWS_REGION, and its own event bus),
on one moto server whose DynamoDB is one table to all three, serialising conditional writes as DynamoDB does, and
whose KMS makes the same key in each (moto_server.py): what a deployment with StateRegions gives
(docs/operations.md, Three Regions). Each Region's lines in the terminal begin with its name; stopping a Region's
process (`kill <pid>`, the banner names each) leaves the other two serving."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import IO

from devserver.moto_server import SHARED_STATE_REGION
from devserver.stack import eprint, start_moto

REGIONS = ("us-east-1", "us-east-2", "us-west-2")  # one Region set, as MRSC requires (the template's example)
READY = "Ctrl-C stops everything."  # the end of the banner (__main__.py)
START_SECONDS = 120


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(first: int) -> list[int]:
    """PORT, PORT+1, PORT+2 (PORT 0: three free ports), each checked free before anything starts."""
    if first == 0:
        ports = []
        for _ in REGIONS:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                ports.append(probe.getsockname()[1])
        return ports
    ports = [first + offset for offset in range(len(REGIONS))]
    if ports[-1] > 65535:
        raise SystemExit(f"REGIONS=3 needs PORT to PORT+2: {ports[-1]} is no port; choose a lower PORT")
    taken = [port for port in ports if not _free(port)]
    if taken:
        raise SystemExit(
            f"127.0.0.1:{taken[0]} is in use (another make dev?): REGIONS=3 serves on {ports[0]} to {ports[-1]}: "
            f"stop it, or choose another port: PORT={ports[-1] + 1} make dev REGIONS=3"
        )
    return ports


class Region:
    """One Region's local server, its terminal lines prefixed with its name."""

    def __init__(self, region: str, port: int, endpoint: str, passed: list[str]) -> None:
        self.region, self.port = region, port
        self.ready = threading.Event()
        command = [sys.executable, "-m", "devserver", "--port", str(port), "--region", region]
        command += ["--moto-endpoint", endpoint, "--state-regions", ",".join(REGIONS), *passed]
        environment = {key: value for key, value in os.environ.items() if key not in ("PORT", "REGIONS")}
        self.process = subprocess.Popen(  # noqa: S603 - our own server
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
        )
        threading.Thread(target=self._relay, args=(self.process.stdout,), daemon=True).start()

    def _relay(self, lines: IO[str]) -> None:
        for line in lines:
            eprint(f"[{self.region}] {line.rstrip()}")
            if READY in line:
                self.ready.set()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not self.ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.region} Region did not start (code {self.process.poll()})")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve_regions(port: int, passed: list[str]) -> None:
    """Run the three Regions until Ctrl-C or SIGTERM (or until all three have stopped); `passed`: the options each
    Region's server takes as the single server would (--verbose, --parameters)."""
    ports = _ports(port)
    moto, endpoint = start_moto({SHARED_STATE_REGION: REGIONS[0]})
    regions: list[Region] = []
    code = 0
    try:
        # The first Region creates the table (as the stack deployed first creates the global table); then the others
        first = Region(REGIONS[0], ports[0], endpoint, passed)
        regions.append(first)
        first.wait_ready()
        regions += [Region(region, p, endpoint, passed) for region, p in zip(REGIONS[1:], ports[1:], strict=True)]
        for region in regions[1:]:
            region.wait_ready()
        eprint("\nThree Regions, one verify-state table (StateRegions=" + ",".join(REGIONS) + "):")
        for region in regions:
            eprint(f"  {region.region}: http://127.0.0.1:{region.port} (pid {region.process.pid}; kill it to stop it)")
        eprint("Ctrl-C stops everything.\n")
        running = set(regions)
        while running:
            for region in list(running):
                if region.process.poll() is not None:
                    running.discard(region)
                    left = ", ".join(sorted(r.region for r in running)) or "none"
                    eprint(f"the {region.region} Region stopped (code {region.process.returncode}); serving: {left}")
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        eprint(f"could not start: {exc}")
        code = 1
    finally:
        for region in regions:
            region.stop()
        moto.terminate()
        try:
            moto.wait(timeout=5)
        except subprocess.TimeoutExpired:
            moto.kill()
            moto.wait()
        eprint("stopped")
    sys.exit(code)
