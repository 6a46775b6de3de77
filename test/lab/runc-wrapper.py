#!/usr/bin/env python3
"""The runc CRI-O runs in the test lab: what CRI-O asks of runc, trimmed to what these machines
allow, then the real runc. CRI-O does not clamp where containerd does (checked on CRI-O 1.34 under
kubelet 1.35): a privileged container asks for every capability up to cap_last_cap, but the
machine's bounding set lacks some (CAP_SYS_RESOURCE: "unable to apply caps"); the infra container
of a shared-PID pod asks for oom_score_adj -998, which needs CAP_SYS_RESOURCE; the kubelet's
hugepage limits fail where hugetlb is listed in /proc/cgroups but not mounted. Each trim is
written to the log named by NSREPORT_WRAPPER_LOG (next to this file by default).

  runc-wrapper.py REAL_RUNC [runc arguments...]   (CRI-O calls a generated shell stub)
"""
import json
import os
import sys

# linux/capability.h, in bit order (Linux 6.x: 0..40).
CAPS = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]


def bounding_set():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                bits = int(line.split()[1], 16)
                return {"CAP_" + n for i, n in enumerate(CAPS) if bits >> i & 1}
    return set()


def hugetlb_mounted():
    with open("/proc/self/mountinfo") as f:
        return any(" - cgroup " in l and "hugetlb" in l.split(" - ", 1)[1] for l in f)


def trim(bundle, log):
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        spec = json.load(f)
    changed = []
    allowed = bounding_set()
    caps = spec.get("process", {}).get("capabilities", {})
    for kind, names in list(caps.items()):
        kept = [c for c in names if c in allowed]
        if kept != names:
            changed.append("%s capabilities without %s" % (kind, sorted(set(names) - set(kept))))
            caps[kind] = kept
    proc = spec.get("process", {})
    with open("/proc/self/oom_score_adj") as f:
        floor = int(f.read())
    if "oomScoreAdj" in proc and proc["oomScoreAdj"] < floor:
        changed.append("oomScoreAdj %d -> %d" % (proc["oomScoreAdj"], floor))
        proc["oomScoreAdj"] = floor
    res = spec.get("linux", {}).get("resources", {})
    if res.get("hugepageLimits") and not hugetlb_mounted():
        changed.append("hugepageLimits dropped (hugetlb not mounted)")
        del res["hugepageLimits"]
    if changed:
        with open(path, "w") as f:
            json.dump(spec, f)
        with open(log, "a") as f:
            f.write("%s: %s\n" % (os.path.basename(bundle), "; ".join(changed)))


def main():
    real, args = sys.argv[1], sys.argv[2:]
    log = os.environ.get("NSREPORT_WRAPPER_LOG") or os.path.join(os.path.dirname(__file__), "wrapper.log")
    verb = next((a for a in args if a in ("create", "run")), None)
    if verb is not None:
        rest = args[args.index(verb) + 1:]
        bundle = os.getcwd()
        for i, a in enumerate(rest):
            if a in ("--bundle", "-b") and i + 1 < len(rest):
                bundle = rest[i + 1]
            elif a.startswith("--bundle="):
                bundle = a.split("=", 1)[1]
        trim(bundle, log)
    os.execv(real, [real] + args)


main()
