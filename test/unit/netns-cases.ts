import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../../src/config/exit.js';

/**
 * Bad input to `nsreport netns`, one row each: the command line, what must be set up first, the
 * exit code and the one line it prints. Placeholders in `args` and `env`: `{tmp}` a fresh empty
 * directory, `{file}` a regular file in it, `{cri}` the socket of the fake CRI runtime
 * (test/unit/fake-cri.ts) answering as `cri` says. netns-cases.test.ts runs every row.
 */
export interface NetnsCase {
  readonly name: string;
  /** After `nsreport`. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** A command the CLI runs under: capabilities dropped with util-linux setpriv. */
  readonly wrap?: readonly string[];
  /**
   * What the fake runtime on `{cri}` says. `running`: pod shop/web, its container `app` the
   * process of a child `sleep 60` (create and start times around that process's start);
   * `exited`: the same container exited; `stale`: running, but its PID's process started a
   * minute before the container was created (a reused PID); `none`: no pods; `denied`: every
   * call fails with PERMISSION_DENIED.
   */
  readonly cri?: 'running' | 'exited' | 'stale' | 'none' | 'denied';
  /**
   * Files made first. `foreign-name`: `{tmp}/netns/shop_web`, a regular file nsreport did not
   * make; `readonly-dir`: `{tmp}/ro`, a directory of mode 0555 (with `wrap` dropping
   * CAP_DAC_OVERRIDE, root may not write into it); `mount-only`: `{tmp}/bin` holding a link to
   * util-linux mount and no umount.
   */
  readonly files?: 'foreign-name' | 'readonly-dir' | 'mount-only';
  /**
   * Needs root: setpriv drops capabilities only from a root process, and link asks the runtime
   * only once it knows it may mount (CAP_SYS_ADMIN).
   */
  readonly root?: boolean;
  readonly exit: number;
  /** The whole of stderr (one line), or stdout for exit 0. */
  readonly stderr?: RegExp;
  readonly stdout?: RegExp;
  /** How to make the situation by hand. */
  readonly setup: string;
}

const LINK = ['netns', 'link', 'shop/web'];
const UNLINK = ['netns', 'unlink', 'shop/web'];
const IN_TMP = ['--netns-dir', '{tmp}/netns'];
const NO_CRI = ['--cri-endpoint', '{tmp}/none.sock'];
const CRI = ['--cri-endpoint', '{cri}'];
const DROP = (cap: string): string[] => ['setpriv', `--bounding-set=-${cap}`, '--'];

export const NETNS_CASES: readonly NetnsCase[] = [
  {
    name: 'link: --netns-dir is a file',
    args: [...LINK, '--netns-dir', '{file}', ...NO_CRI],
    exit: EXIT_USAGE,
    stderr: /^nsreport: --netns-dir: \S+\/file is not a directory\n$/,
    setup: 'a regular file as --netns-dir',
  },
  {
    name: 'link: --netns-dir below a file',
    args: [...LINK, '--netns-dir', '{file}/netns', ...NO_CRI],
    exit: EXIT_USAGE,
    stderr: /^nsreport: --netns-dir: \S+\/file\/netns: a part of it is not a directory\n$/,
    setup: 'a path through a regular file as --netns-dir',
  },
  {
    name: 'link: --netns-dir on procfs (/proc/sys/x once looped forever)',
    args: [...LINK, '--netns-dir', '/proc/sys/x', ...NO_CRI],
    exit: EXIT_USAGE,
    stderr:
      /^nsreport: --netns-dir: \/proc\/sys\/x \(its parent \/proc\/sys\) is on proc, not a filesystem names can be made on\n$/,
    setup: 'none',
  },
  {
    name: 'link: --netns-dir on sysfs',
    args: [...LINK, '--netns-dir', '/sys/kernel/x', ...NO_CRI],
    exit: EXIT_USAGE,
    stderr:
      /^nsreport: --netns-dir: \/sys\/kernel\/x \(its parent \/sys\/kernel\) is on sysfs, .*\n$/,
    setup: 'none',
  },
  {
    name: 'link: --netns-dir whose parent does not exist',
    args: [...LINK, '--netns-dir', '{tmp}/a/b', ...NO_CRI],
    exit: EXIT_USAGE,
    stderr:
      /^nsreport: --netns-dir: \S+\/a\/b: its parent \S+\/a does not exist \(only the last directory is made\)\n$/,
    setup: 'a --netns-dir two levels below an existing directory',
  },
  {
    name: 'link: --netns-dir not writable',
    args: [...LINK, '--netns-dir', '{tmp}/ro/netns', ...NO_CRI],
    wrap: DROP('dac_override'),
    files: 'readonly-dir',
    root: true,
    exit: EXIT_FAILURE,
    stderr:
      /^nsreport: --netns-dir: \S+\/ro\/netns \(its parent \S+\/ro\) is not writable \(EACCES\)\n$/,
    setup:
      'a directory of mode 0555; run as root without CAP_DAC_OVERRIDE (setpriv --bounding-set=-dac_override)',
  },
  {
    name: 'link: mount is not installed',
    args: [...LINK, ...IN_TMP, ...NO_CRI],
    env: { PATH: '{tmp}' },
    exit: EXIT_FAILURE,
    stderr: /^nsreport: mount \(util-linux\) is not on PATH \(\S+\)\n$/,
    setup: 'PATH naming only an empty directory',
  },
  {
    name: 'link: umount is not installed (a wrong mount could not be undone)',
    args: [...LINK, ...IN_TMP, ...NO_CRI],
    env: { PATH: '{tmp}/bin' },
    files: 'mount-only',
    exit: EXIT_FAILURE,
    stderr: /^nsreport: umount \(util-linux\) is not on PATH \(\S+\/bin\)\n$/,
    setup: 'PATH naming only a directory with mount in it',
  },
  {
    name: 'link: --proc-root is not procfs',
    args: [...LINK, ...IN_TMP, '--proc-root', '{tmp}', ...NO_CRI],
    exit: EXIT_USAGE,
    stderr: /^nsreport: --proc-root: \S+ is not a procfs mount \(no self\/ns in it\)\n$/,
    setup: 'an empty directory as --proc-root',
  },
  {
    name: 'link: no CRI socket at --cri-endpoint',
    root: true,
    args: [...LINK, ...IN_TMP, ...NO_CRI],
    exit: EXIT_FAILURE,
    stderr:
      /^nsreport: CRI ListPodSandbox on \S+\/none\.sock: no CRI socket at this path; pass --cri-endpoint .*\n$/,
    setup: 'a --cri-endpoint that does not exist',
  },
  {
    name: 'link: the runtime refuses (CRI error)',
    root: true,
    args: [...LINK, ...IN_TMP, ...CRI],
    cri: 'denied',
    exit: EXIT_FAILURE,
    stderr: /^nsreport: CRI ListPodSandbox on \S+: permission denied on the CRI socket; .*\n$/,
    setup: 'a CRI runtime answering PERMISSION_DENIED',
  },
  {
    name: 'link: the pod is not on this node',
    root: true,
    args: ['netns', 'link', 'shop/nope', ...IN_TMP, ...CRI],
    cri: 'none',
    exit: EXIT_FAILURE,
    stderr: /^nsreport: pod shop\/nope not found on this node\n$/,
    setup: 'a CRI runtime without that pod',
  },
  {
    name: 'link: the pod has no running container',
    root: true,
    args: [...LINK, ...IN_TMP, ...CRI],
    cri: 'exited',
    exit: EXIT_FAILURE,
    stderr: /^nsreport: pod shop\/web has no running container on this node\n$/,
    setup: 'a pod whose containers exited',
  },
  {
    name: "link: the PID the runtime gives is not the container's any more",
    root: true,
    args: [...LINK, ...IN_TMP, ...CRI],
    cri: 'stale',
    exit: EXIT_FAILURE,
    stderr:
      /^nsreport: pod shop\/web has no running container on this node \(app: PID \d+ is not the container's process \(it started .+; the container was created .+\)\)\n$/,
    setup:
      'a running container whose PID is now a process that started before the container was created',
  },
  {
    name: 'link: the name is taken by someone else',
    root: true,
    args: [...LINK, ...IN_TMP, ...CRI],
    cri: 'running',
    files: 'foreign-name',
    exit: EXIT_FAILURE,
    stderr:
      /^nsreport: \S+\/netns\/shop_web already exists and was not made by nsreport; leaving it\n$/,
    setup: 'a file NETNS_DIR/shop_web that nsreport did not make (ip netns add shop_web makes one)',
  },
  {
    name: 'link: mount refused (no CAP_SYS_ADMIN)',
    args: [...LINK, ...IN_TMP, ...CRI],
    cri: 'running',
    wrap: DROP('sys_admin'),
    root: true,
    exit: EXIT_FAILURE,
    stderr:
      /^nsreport: no CAP_SYS_ADMIN, which mount and umount need: run nsreport netns as root on the node\n$/,
    setup: 'run as root without CAP_SYS_ADMIN (setpriv --bounding-set=-sys_admin)',
  },
  {
    name: 'link: the name is too long for a file name',
    args: ['netns', 'link', `shop/${'p'.repeat(251)}`, ...IN_TMP, ...NO_CRI],
    exit: EXIT_USAGE,
    stderr:
      /^nsreport: netns link: the name of shop\/p+ would be 256 characters, longer than a file name may be \(255\)\n$/,
    setup: 'none',
  },
  {
    name: 'link: not NAMESPACE/POD',
    args: ['netns', 'link', 'web', ...IN_TMP],
    exit: EXIT_USAGE,
    stderr: /^nsreport: netns link: expected NAMESPACE\/POD, got "web"\n$/,
    setup: 'none',
  },
  {
    name: 'unlink: a name nsreport did not make',
    args: [...UNLINK, ...IN_TMP],
    files: 'foreign-name',
    exit: EXIT_FAILURE,
    stderr:
      /^nsreport: \S+\/netns\/shop_web was not made by nsreport netns link \(or no longer holds what it pinned\); leaving it \(ip netns delete shop_web removes any name\)\n$/,
    setup: 'a file NETNS_DIR/shop_web that nsreport did not make',
  },
  {
    name: 'unlink: nothing to unlink',
    args: [...UNLINK, ...IN_TMP],
    exit: EXIT_OK,
    stdout: /^nothing to do: \S+\/netns does not exist\n$/,
    setup: 'none',
  },
  {
    name: 'unlink: --netns-dir on procfs',
    args: [...UNLINK, '--netns-dir', '/proc/sys/x'],
    exit: EXIT_USAGE,
    stderr: /^nsreport: --netns-dir: \/proc\/sys\/x \(its parent \/proc\/sys\) is on proc, .*\n$/,
    setup: 'none',
  },
];
