// A job that tries to get out of its container, against the real engine: no Docker socket, no mounts,
// no devices, no network or kernel tweaks, no chroot or new namespaces, no raw sockets, no setuid
// elevation; fork bombs, memory hogs and CPU burners stay inside the limits the agent sets.
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ContainerLimits, DockerRunner, JOB_CAPABILITIES } from '../src/docker-runner';
import { ensureBusyboxImage, ensureNodeImage } from './support/images';

let busybox: string;
let nodeImage: string;
const docker = new Docker();
const limits: ContainerLimits = { memoryBytes: 64 * 1024 * 1024, cpus: 0.25, pids: 64 };
const runner = new DockerRunner({ agentId: `containment-${randomUUID().slice(0, 8)}`, platform: 'linux/amd64', limits });

beforeAll(() => {
  busybox = ensureBusyboxImage();
  nodeImage = ensureNodeImage();
});

/** Runs `command` as a job container to its end; its output and how it ended. */
async function runJob(command: string, image = busybox) {
  const container = await runner.create({ taskId: `c-${randomUUID().slice(0, 8)}`, image, command, env: {} });
  let out = '';
  const { ended } = await runner.attach(container, (_s, d) => {
    out += d.toString();
  });
  await runner.start(container);
  const result = await runner.wait(container);
  await ended;
  const info = await container.inspect();
  await runner.remove(container);
  return { ...result, out, info };
}

// Linux capability numbers (include/uapi/linux/capability.h).
const CAP = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  NET_BIND_SERVICE: 10,
  NET_ADMIN: 12,
  NET_RAW: 13,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_ADMIN: 21,
  SYS_TIME: 25,
  MKNOD: 27,
  AUDIT_WRITE: 29,
  SETFCAP: 31,
} as const;
const capsOf = (hex: string) =>
  Object.entries(CAP)
    .filter(([, bit]) => (BigInt(`0x${hex}`) >> BigInt(bit)) & 1n)
    .map(([name]) => name)
    .sort();

describe('job containment', () => {
  it('creates job containers unprivileged, with a short capability list, default seccomp, and no log file on the host', async () => {
    const { exitCode, out, info } = await runJob('grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status');
    expect(exitCode).toBe(0);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.CapAdd).toEqual(JOB_CAPABILITIES);
    expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
    expect(info.HostConfig.LogConfig).toMatchObject({ Type: 'none' });
    expect(info.HostConfig.NetworkMode).not.toBe('host');
    expect(info.HostConfig.PidMode ?? '').toBe('');
    expect(info.HostConfig.IpcMode).not.toBe('host');
    expect(info.HostConfig.Devices ?? []).toEqual([]);
    expect(info.Mounts).toEqual([]);
    const status = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(/:\s+/) as [string, string]),
    );
    expect(capsOf(status.CapEff!)).toEqual([...JOB_CAPABILITIES].sort());
    expect(capsOf(status.CapBnd!)).toEqual([...JOB_CAPABILITIES].sort());
    expect(status.NoNewPrivs).toBe('1');
    expect(status.Seccomp).toBe('2'); // filter mode: Docker's default profile
  });

  it('every escape attempt from inside fails', async () => {
    // Each line: name=blocked or name=ALLOWED, with the command's own message.
    const attempts: Record<string, string> = {
      'docker socket': 'test -S /var/run/docker.sock || test -S /run/docker.sock || test -e /var/run/docker.sock',
      'mount tmpfs': 'mount -t tmpfs none /mnt',
      'mount proc': 'mkdir -p /tmp/p && mount -t proc proc /tmp/p',
      'mknod block device': 'mknod /tmp/sda b 8 0',
      'read raw disk': 'head -c 1 /dev/sda || head -c 1 /dev/vda || head -c 1 /dev/nvme0n1 || head -c 1 /dev/mem',
      'ip link add': 'ip link add agnox0 type dummy',
      'write /proc/sys': 'echo 1 > /proc/sys/net/ipv4/ip_forward',
      core_pattern: 'echo "|/tmp/x" > /proc/sys/kernel/core_pattern',
      'sysrq-trigger': 'echo h > /proc/sysrq-trigger',
      uevent_helper: 'echo /tmp/x > /sys/kernel/uevent_helper',
      'raise pids limit': 'f=/sys/fs/cgroup/pids/pids.max; [ -e $f ] || f=/sys/fs/cgroup/pids.max; echo 100000 > $f',
      'raise memory limit': 'f=/sys/fs/cgroup/memory/memory.limit_in_bytes; [ -e $f ] || f=/sys/fs/cgroup/memory.max; echo 1000000000 > $f',
      chroot: 'chroot / true',
      'unshare user ns': 'unshare -U -r true',
      'unshare mount ns': 'unshare -m true',
      'nsenter pid 1': 'nsenter -t 1 -m -p true',
      'raw socket (arping)': 'arping -c 1 -w 1 127.0.0.1',
      hostname: 'hostname evil',
      'set clock': 'date -s 2001-02-03 >/dev/null 2>&1; [ "$(date +%Y)" = 2001 ]',
      'load module': 'insmod /lib/modules/x.ko || modprobe dummy',
    };
    const script = Object.entries(attempts)
      .map(([name, cmd]) => `if (${cmd}) >/tmp/o 2>&1; then echo "${name}=ALLOWED"; else echo "${name}=blocked $(head -c 120 /tmp/o | tr '\\n' ' ')"; fi`)
      .join('\n');
    const { out } = await runJob(script);
    const results = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(Object.keys(results).sort()).toEqual(Object.keys(attempts).sort());
    for (const [name, result] of Object.entries(results)) expect(`${name}=${result}`).toMatch(new RegExp(`^${name.replace(/[()]/g, '\\$&')}=blocked`));
    expect(results['mknod block device']).toMatch(/Operation not permitted/);
    expect(results.chroot).toMatch(/Operation not permitted/);
    expect(results['raw socket (arping)']).toMatch(/Operation not permitted/);
  });

  it('no-new-privileges: a setuid-root binary run by an unprivileged user stays unprivileged', async () => {
    // node does not drop privileges itself (busybox would), so its euid shows what the kernel granted.
    const command =
      'cp /usr/local/bin/node /tmp/node && chmod 4755 /tmp/node && ls -l /tmp/node | cut -c1-10 && su -s /bin/sh nobody -c "/tmp/node -e \\"console.log(process.getuid(), process.geteuid())\\""';
    const job = await runJob(command, nodeImage);
    expect(job.out).toBe('-rwsr-xr-x\n65534 65534\n');
    // The same in a container without no-new-privileges elevates: the check above is not vacuous.
    const plain = await docker.createContainer({ Image: nodeImage, Cmd: ['sh', '-c', command], HostConfig: { AutoRemove: false } });
    let out = '';
    const stream = await plain.attach({ stream: true, stdout: true, stderr: true });
    const ended = new Promise((r) => stream.on('end', r));
    docker.modem.demuxStream(
      stream,
      {
        write: (d: Buffer) => {
          out += d;
        },
      } as never,
      {
        write: (d: Buffer) => {
          out += d;
        },
      } as never,
    );
    await plain.start();
    await plain.wait();
    await ended;
    await plain.remove({ force: true });
    expect(out).toBe('-rwsr-xr-x\n65534 0\n');
  });

  it('a fork bomb is capped by the process limit; the container still ends normally', async () => {
    const t0 = Date.now();
    const { exitCode, out } = await runJob(
      'dir=/sys/fs/cgroup/pids; [ -e $dir/pids.max ] || dir=/sys/fs/cgroup; read max < $dir/pids.max; ' +
        '(bomb() { bomb | bomb & }; bomb) 2>/dev/null & ' +
        // Builtins only from here (fork may fail now). pids.events counts the forks the limit refused: a
        // counter, so however seldom this loop gets the CPU, it cannot miss the bomb reaching the limit
        // (sampling pids.current could: a bomb whose forks fail dies out between two samples).
        'refused=0; while [ "$refused" = 0 ]; do read _ refused < $dir/pids.events; done; ' +
        'peak=none; [ -e $dir/pids.peak ] && read peak < $dir/pids.peak; ' +
        'echo "max=$max refused=$refused peak=$peak"; exit 0',
    );
    expect(exitCode).toBe(0);
    const m = /max=(\d+) refused=(\d+) peak=(\d+|none)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBe(limits.pids);
    expect(Number(m![2])).toBeGreaterThan(0); // the bomb ran into the limit: forks were refused
    if (m![3] !== 'none') expect(Number(m![3])).toBeLessThanOrEqual(limits.pids); // and never got past it
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('a memory hog is OOM-killed at the memory limit, without swap', async () => {
    const { exitCode, oomKilled, out, info } = await runJob('echo start; awk \'BEGIN { s = "0123456789abcdef"; while (1) s = s s }\'; echo "after: $?"');
    expect(info.HostConfig.Memory).toBe(limits.memoryBytes);
    expect(info.HostConfig.MemorySwap).toBe(limits.memoryBytes);
    expect(oomKilled).toBe(true);
    // The hog got SIGKILL; the job's shell saw it (and says "Killed" on stderr, in any order).
    expect(out.replace('Killed\n', '')).toBe('start\nafter: 137\n');
    expect(exitCode).toBe(0);
  });

  it('a CPU burner gets no more than its CPU share', async () => {
    // Two busy loops for ~1.5 s against a quota of 0.25 CPU; cgroup v1 or v2 counters.
    const { out } = await runJob(
      "if [ -e /sys/fs/cgroup/cpu.stat ]; then u() { awk '/usage_usec/ { print $2 * 1000 }' /sys/fs/cgroup/cpu.stat; }; t() { awk '/nr_throttled/ { print $2 }' /sys/fs/cgroup/cpu.stat; }; " +
        "else u() { cat /sys/fs/cgroup/cpuacct/cpuacct.usage; }; t() { awk '/nr_throttled/ { print $2 }' /sys/fs/cgroup/cpu/cpu.stat; }; fi; " +
        'u0=$(u); w0=$(cut -d" " -f1 /proc/uptime); ' +
        '(while :; do :; done) & a=$!; (while :; do :; done) & b=$!; sleep 1.5; kill $a $b; ' +
        'echo "cpu_ns=$(( $(u) - u0 )) wall_s=$(awk -v w0=$w0 \'{ print $1 - w0 }\' /proc/uptime) throttled=$(t)"',
    );
    const m = /cpu_ns=(\d+) wall_s=([\d.]+) throttled=(\d+)/.exec(out);
    expect(m, out).not.toBeNull();
    const share = Number(m![1]) / 1e9 / Number(m![2]);
    expect(share, out).toBeLessThan(limits.cpus * 1.5);
    expect(share, out).toBeGreaterThan(0.05);
    expect(Number(m![3]), out).toBeGreaterThan(0);
  });
});
