#!/usr/bin/env python3
"""A multi-host MPI cluster on one Linux machine: network namespaces joined by veth links.

Needs root and ``ip`` (iproute2). ``N`` "hosts" (namespaces ``<name>-h0`` ...) each get
one address in 198.18.213.0/24 (the benchmarking range of RFC 2544, used only inside
these namespaces, with no route out), and a veth link to a bridge in a fourth
namespace ``<name>-br``. Each host runs in its own UTS namespace with its own host
name. ``mpiexec`` runs on host 0 and starts the other ranks through a launcher
wrapper that stands in for ssh (``ip netns exec``); ``UCX_TLS=tcp,self`` makes the
MPI traffic really cross the links. A link can be cut and restored from the bridge.

    sudo python tools/netns_cluster.py run -n 3 -- launch/train_digits.py --epochs 1
    sudo python tools/netns_cluster.py run -n 3 --cut 2 --cut-at 5 --cut-for 3 -- job.py

As a library (used by the tests)::

    with Cluster(3) as c:           # creates the namespaces; tears down by PID on exit
        proc = c.spmdrun(["job.py"], env={...})   # a Popen, stdout/stderr piped
        c.cut(2); c.restore(2)
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBNET = "198.18.213"


def available():
    """``(True, "")`` when namespaces can be made here, else ``(False, reason)``."""
    if os.geteuid() != 0:
        return False, "network namespaces need root"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return False, f"no '{tool}' command (iproute2 / util-linux)"
    probe = f"spmdprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"cannot create a network namespace: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True, ""


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


_WRAPPER = """#!/bin/sh
# Stands in for ssh: hydra calls "<this> [options] HOST COMMAND...".
while [ $# -gt 0 ]; do case "$1" in -*) shift;; *) break;; esac; done
host=$1; shift
case "$host" in
{cases}
  *) echo "netns wrapper: unknown host $host" >&2; exit 255;;
esac
exec ip netns exec "$ns" unshare --uts sh -c 'hostname "$1"; shift; eval "$*"' sh "$name" "$@"
"""


class Cluster:
    """``n`` namespaced hosts on a bridge (see the module docstring)."""

    def __init__(self, n, name=None):
        self.n = n
        self.name = name or f"sgt{os.getpid() % 100000}"
        self.hosts = [f"{self.name}-h{i}" for i in range(n)]
        self.bridge_ns = f"{self.name}-br"
        self.addrs = [f"{SUBNET}.{i + 1}" for i in range(n)]
        self.dir = tempfile.mkdtemp(prefix="netns-cluster-")
        self.procs = []

    # -------------------------------------------------------------- setup / teardown
    def up(self):
        try:
            _ip("netns", "add", self.bridge_ns)
            _ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.bridge_ns, "link", "set", "br0", "up")
            for i, (ns, addr) in enumerate(zip(self.hosts, self.addrs)):
                _ip("netns", "add", ns)
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("link", "add", f"{self.name}v{i}", "netns", ns, "type", "veth",
                    "peer", "name", f"p{i}", "netns", self.bridge_ns)
                _ip("-n", ns, "link", "set", f"{self.name}v{i}", "name", "eth0")
                _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
                _ip("-n", self.bridge_ns, "link", "set", f"p{i}", "master", "br0")
                _ip("-n", self.bridge_ns, "link", "set", f"p{i}", "up")
        except subprocess.CalledProcessError as e:
            self.down()
            raise RuntimeError(f"netns setup failed: {' '.join(e.cmd)}: {e.stderr.strip()}") from None
        with open(self.hostfile, "w") as f:
            f.writelines(f"{a}:1\n" for a in self.addrs)
        cases = "\n".join(f"  {a}) ns={ns}; name={ns};;" for a, ns in zip(self.addrs, self.hosts))
        with open(self.wrapper, "w") as f:
            f.write(_WRAPPER.format(cases=cases))
        os.chmod(self.wrapper, 0o755)
        return self

    hostfile = property(lambda self: os.path.join(self.dir, "hosts"))
    wrapper = property(lambda self: os.path.join(self.dir, "netns-exec"))

    def pids(self):
        """PIDs of every process in the cluster's namespaces."""
        out = set()
        for ns in self.hosts + [self.bridge_ns]:
            r = _ip("netns", "pids", ns, check=False)
            out.update(int(p) for p in r.stdout.split())
        return out

    def down(self):
        """Kill every process left in the namespaces (by PID), then delete them."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 3
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for ns in self.hosts + [self.bridge_ns]:
            _ip("netns", "del", ns, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()

    # -------------------------------------------------------------- use
    def spmdrun(self, args, env=None, launcher_args=()):
        """Start ``spmdrun -n N -f hostfile ARGS`` on host 0. Returns the Popen."""
        full = dict(os.environ, UCX_TLS="tcp,self", HYDRA_LAUNCHER="ssh",
                    HYDRA_LAUNCHER_EXEC=self.wrapper, **(env or {}))
        full["PYTHONPATH"] = ROOT + os.pathsep + full.get("PYTHONPATH", "")
        cmd = ["ip", "netns", "exec", self.hosts[0], "unshare", "--uts", "sh", "-c",
               f'hostname {self.hosts[0]}; exec "$@"', "sh",
               sys.executable, "-m", "spmdgrad.launcher", "-n", str(self.n), "-f", self.hostfile,
               *launcher_args, *args]
        p = subprocess.Popen(cmd, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)
        self.procs.append(p)
        return p

    def cut(self, i):
        """Take host ``i``'s link down at the bridge."""
        _ip("-n", self.bridge_ns, "link", "set", f"p{i}", "down")

    def restore(self, i):
        _ip("-n", self.bridge_ns, "link", "set", f"p{i}", "up")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="set up, run an spmdrun job across the hosts, tear down")
    r.add_argument("-n", type=int, default=3, help="number of hosts (one rank each)")
    r.add_argument("--cut", type=int, help="host whose link to cut during the job")
    r.add_argument("--cut-at", type=float, default=5.0, help="seconds after the start")
    r.add_argument("--cut-for", type=float, help="seconds until it is restored (default never)")
    r.add_argument("args", nargs=argparse.REMAINDER, help="-- spmdrun arguments (script ...)")
    ns = ap.parse_args(argv)
    ok, why = available()
    if not ok:
        sys.exit(f"netns_cluster: {why}")
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    with Cluster(ns.n) as c:
        p = c.spmdrun(args)
        if ns.cut is not None:
            def cutter():
                time.sleep(ns.cut_at)
                c.cut(ns.cut)
                if ns.cut_for is not None:
                    time.sleep(ns.cut_for)
                    c.restore(ns.cut)
            threading.Thread(target=cutter, daemon=True).start()
        out, err = p.communicate()
        sys.stdout.write(out)
        sys.stderr.write(err)
        return p.returncode


if __name__ == "__main__":
    sys.exit(main())
