"""Before a run: the peers installed, wscale built and current, the open-files
limit raised to its hard limit."""
import glob
import os
import resource
import shutil
import subprocess
import sys

from common import HERE, REPO, log

PEERS = {"haproxy": "haproxy", "nginx": "nginx", "redis-server": "redis-server", "node": "nodejs", "npm": "npm"}


def need(argv, what):
    r = subprocess.run(argv, cwd=REPO)
    if r.returncode != 0:
        sys.exit(f"scripts/bench: {what} failed (exit {r.returncode}): {' '.join(argv)}")


def install_peers():
    missing = sorted({pkg for binary, pkg in PEERS.items() if not shutil.which(binary)})
    if missing:
        if os.geteuid() != 0:
            sys.exit(f"scripts/bench: missing {' '.join(missing)}: run as root, or "
                     f"sudo apt-get install -y {' '.join(missing)}")
        log(f"installing {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
        r = subprocess.run(["apt-get", "install", "-y", "-q", *missing], env=env)
        if r.returncode != 0:
            sys.exit(f"scripts/bench: apt-get install {' '.join(missing)} failed")
    node_dir = os.path.join(HERE, "node")
    if not os.path.isdir(os.path.join(node_dir, "node_modules")):
        log("npm ci in scripts/bench/node")
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=node_dir)
        if r.returncode != 0:
            sys.exit("scripts/bench: npm ci in scripts/bench/node failed")


def newest_source():
    files = [f for d in ("shared", "lb", "backend", "bench") for f in glob.glob(os.path.join(REPO, d, "*.[ch]"))]
    files.append(os.path.join(REPO, "Makefile"))
    return max(os.path.getmtime(f) for f in files)


def build():
    binary = os.path.join(REPO, "wscale")
    if not os.path.exists(binary) or os.path.getmtime(binary) < newest_source():
        log("building wscale (make)")
        need(["make", "-s"], "make")


def raise_nofile():
    """Child processes inherit the limit: make it the hard one (20000 here)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def prepare():
    install_peers()
    build()
    raise_nofile()
