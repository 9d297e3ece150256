"""Runs inside the test Ray cluster's network namespace (tests/ray_helpers.py): each command of a spec
through the real `vlmdata` CLI with `--engine ray --ray-address ADDRESS`, results written as JSON.

    python tests/cluster_driver.py 127.0.0.1:6391 commands.json results.json
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def run_cli(args: list[str], env: dict) -> dict:
    from click.testing import CliRunner

    from vlmdata.cli import cli

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"exit_code": result.exit_code, "output": result.stdout, "stderr": result.stderr}


def busy_workers(fn_name: str) -> list[int]:
    """Ray worker processes of this namespace's cluster running `fn_name` now."""
    own = os.readlink("/proc/self/ns/net")
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read()
            if cmd.startswith(f"ray::{fn_name}".encode()) and os.readlink(f"/proc/{entry}/ns/net") == own:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def run_and_kill(args: list[str], env: dict, fn_name: str = "convert_part") -> dict:
    """The command as its own process; the first worker seen running fn_name is killed with SIGKILL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vlmdata", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    killed = None
    while proc.poll() is None and killed is None:
        pids = busy_workers(fn_name)
        if pids:
            time.sleep(0.2)  # mid-task
            try:
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
            except ProcessLookupError:
                continue
        time.sleep(0.01)
    out, err = proc.communicate(timeout=600)
    return {"exit_code": proc.returncode, "output": out.decode(), "stderr": err.decode(), "killed": killed}


def main() -> None:
    address, spec, results = sys.argv[1:4]
    with open(spec) as fh:
        commands = json.load(fh)
    out = []
    for command in commands:
        extra = ["--engine", "ray", "--ray-address", address]
        env = command.get("env", {})
        if "python" in command:  # a user's own Ray Data pipeline: the code sets `result`
            scope = {"address": address}
            exec(command["python"], scope)
            out.append({"result": scope["result"]})
        elif "kill" in command:
            out.append(run_and_kill(command["kill"] + extra, env, command.get("fn", "convert_part")))
        else:
            out.append(run_cli(command["args"] + extra, env))
    with open(results, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
