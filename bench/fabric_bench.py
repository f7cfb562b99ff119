# Fabric's side of the SSH scenario (bench/ssh-vs-fabric.ts): sequential commands on one connection, and connect+run+close, as JSON on stdout.
# Run with Debian's /usr/bin/python3 (package python3-fabric), not a pyenv python first in PATH.
import json
import statistics
import sys
import time

import fabric
import paramiko
from fabric import Connection


def connection(host, port, user, key_file, known_hosts):
    c = Connection(host, user=user, port=port, connect_kwargs={"key_filename": key_file, "look_for_keys": False, "allow_agent": False})
    # Checked like imagesync's side: the server's keys are known, anything else is refused.
    c.client.load_host_keys(known_hosts)
    c.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return c


def main():
    host, port, user, key_file, known_hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    commands, connects, warmups = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])

    c = connection(host, port, user, key_file, known_hosts)
    c.open()
    for _ in range(warmups):
        c.run("true", hide=True)
    per_command = []
    started = time.perf_counter()
    for _ in range(commands):
        t = time.perf_counter()
        r = c.run("true", hide=True)
        per_command.append((time.perf_counter() - t) * 1000)
        if r.exited != 0:
            raise SystemExit(f"fabric_bench.py: `true` exited {r.exited} on {user}@{host}:{port}")
    total_ms = (time.perf_counter() - started) * 1000
    c.close()

    connect_ms = []
    for _ in range(connects):
        t = time.perf_counter()
        c = connection(host, port, user, key_file, known_hosts)
        c.run("true", hide=True)
        c.close()
        connect_ms.append((time.perf_counter() - t) * 1000)

    json.dump(
        {
            "fabric": fabric.__version__,
            "paramiko": paramiko.__version__,
            "python": sys.version.split()[0],
            "commands": commands,
            "sequentialMs": total_ms,
            "perCommandMs": per_command,
            "connectRunCloseMs": connect_ms,
            "medianConnectRunCloseMs": statistics.median(connect_ms),
        },
        sys.stdout,
    )


main()
