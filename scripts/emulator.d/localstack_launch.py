"""Start LocalStack in-process, patched so Lambda functions reach Active without Docker.

Run by scripts/emulator with the environment it sets (FILESYSTEM_ROOT, GATEWAY_LISTEN, ...).
Without Docker, CreateFunction in LocalStack 2026.3.0 never leaves Pending: it downloads
the lambda-runtime-init binary from GitHub and pulls a runtime image from Docker Hub, and
neither is reachable here. Two changes fix the control plane (invoke still fails):

1. an executable stub stands where the runtime-init binary would be installed, so the
   package installer finds it and does not download anything;
2. `_ensure_runtime_image_present` (the image pull) becomes a no-op.

Both reach into LocalStack internals, so this refuses any version but the one it was
written and tested against.
"""

import os
import stat
import sys
from importlib.metadata import version

PATCHED_VERSION = "2026.3.0"

STUB_INIT = """#!/bin/sh
echo "irisctl emulator stub: Lambda invoke needs Docker, which this LocalStack runs without" >&2
exit 1
"""


def refuse_other_versions() -> None:
    installed = version("localstack-core")
    if installed != PATCHED_VERSION:
        sys.exit(
            f"localstack_launch.py patches localstack-core {PATCHED_VERSION} internals, but "
            f"{installed} is installed. Reinstall with 'rm -rf {sys.prefix} && "
            f"scripts/emulator start', or re-check the patch against the new version."
        )


def place_runtime_init_stub() -> None:
    from localstack.packages.api import InstallTarget
    from localstack.services.lambda_.packages import lambda_runtime_package

    installer = lambda_runtime_package.get_installer()
    # The same path the installer checks for "already installed" (under FILESYSTEM_ROOT).
    install_dir = installer._get_install_dir(InstallTarget.VAR_LIBS)
    init = installer._get_install_marker_path(install_dir)
    os.makedirs(os.path.dirname(init), exist_ok=True)
    with open(init, "w") as f:
        f.write(STUB_INIT)
    os.chmod(init, os.stat(init).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if not installer.is_installed():
        sys.exit(f"the runtime-init stub at {init} is not seen as installed; patch is stale")


def skip_runtime_image_pull() -> None:
    from localstack.services.lambda_.invocation import docker_runtime_executor

    if not hasattr(docker_runtime_executor, "_ensure_runtime_image_present"):
        sys.exit("docker_runtime_executor._ensure_runtime_image_present is gone; patch is stale")
    docker_runtime_executor._ensure_runtime_image_present = lambda image, platform: None


def main() -> None:
    refuse_other_versions()
    place_runtime_init_stub()
    skip_runtime_image_pull()

    from localstack.runtime.main import main as localstack_main

    localstack_main()


if __name__ == "__main__":
    main()
