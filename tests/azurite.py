"""Azurite, Microsoft's Azure Blob Storage emulator, for tests of `az://` lakes.

The `azurite` session fixture installs Azurite from the npm registry into the git-ignored
`.cache/azurite/` of the repo (once; ~10 s), starts `azurite-blob` on a free port of 127.0.0.1
with its data in a temporary folder, waits until it accepts connections, and stops it after the
session. Without node/npm, or when the install fails, the tests using it skip with the reason;
with `CI=true` they fail instead (as `helpers.require_service` does for databases).

The account is Azurite's built-in development account `devstoreaccount1`, whose key is the
fixed, published development key (not a secret).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AZURITE_VERSION = "3.37.0"
INSTALL_DIR = REPO / ".cache" / "azurite"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
"""Azurite's well-known development account key (documented by Microsoft; not a secret)."""


@dataclass(frozen=True)
class Azurite:
    """A running Azurite blob service.

    Attributes:
        port: its port on 127.0.0.1.
        connection_string: an Azure Storage connection string for it (http, dev account).
    """

    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def blob_service(self):
        """An `azure.storage.blob.BlobServiceClient` on the emulator."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}, and CI=true requires Azurite")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def azurite_blob_binary() -> Path:
    """`azurite-blob` of the pinned Azurite, installed with npm into `.cache/azurite/` if missing.

    Skips the test (fails it under CI=true) when npm is missing or the install fails.
    """
    import fcntl

    binary = INSTALL_DIR / "node_modules" / ".bin" / "azurite-blob"
    installed = INSTALL_DIR / "node_modules" / "azurite" / "package.json"
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        _unavailable("node and npm are needed to install Azurite (the Azure Blob emulator)")
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    # one install at a time: pytest-xdist workers each start their own Azurite
    with (INSTALL_DIR.parent / "azurite.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (
            binary.exists()
            and installed.exists()
            and f'"version": "{AZURITE_VERSION}"' in installed.read_text()
        ):
            return binary
        return _npm_install(npm, binary)


def _npm_install(npm: str, binary: Path) -> Path:
    result = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(INSTALL_DIR),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"azurite@{AZURITE_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0 or not binary.exists():
        _unavailable(
            f"npm install azurite@{AZURITE_VERSION} failed: {result.stderr.strip()[-500:]}"
        )
    return binary


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A running Azurite blob service for the session (see the module docstring)."""
    binary = azurite_blob_binary()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="azurite_") as location:
        log = Path(location) / "azurite.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [
                    str(binary),
                    "--silent",
                    "--location",
                    location,
                    "--blobHost",
                    "127.0.0.1",
                    "--blobPort",
                    str(port),
                    "--skipApiVersionCheck",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        _unavailable(
                            f"Azurite did not start on port {port}: {log.read_text()[-500:]}"
                        )
                    time.sleep(0.2)
            yield Azurite(port)
        finally:
            process.terminate()
            try:
                # a graceful stop waits for clients' keep-alive connections: do not wait long
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if (
    __name__ == "__main__"
):  # `.ci/run` installs Azurite before the tests (`python tests/azurite.py`)
    print(azurite_blob_binary())
