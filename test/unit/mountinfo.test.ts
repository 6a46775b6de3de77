import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  isUnder,
  mountAt,
  mountContaining,
  mountPointsHolding,
  parseMountinfo,
  propagationOf,
  unescapeOctal,
  type MountInfo,
} from '../../src/procfs/mountinfo.js';
import { fixture, mutated } from './fixtures.js';

test('captured mountinfo: Bidirectional mount is shared, HostToContainer slave, None private', () => {
  const bidir = parseMountinfo(fixture('proc/bidir-privileged.mountinfo'));
  const h2c = parseMountinfo(fixture('proc/h2c.mountinfo'));
  const priv = parseMountinfo(fixture('proc/private.mountinfo'));
  assert.equal(propagationOf(mountAt(bidir, '/shared')!), 'shared');
  const data = mountAt(h2c, '/data')!;
  assert.equal(propagationOf(data), 'slave');
  assert.deepEqual(data.optionalFields, ['master:2']);
  assert.equal(data.mountOptions[0], 'ro');
  assert.match(data.root, /\/host\/h2c$/);
  assert.equal(propagationOf(mountAt(priv, '/data')!), 'private');
  assert.equal(mountAt(priv, '/')?.fsType, 'overlay');
});

test('every field of a proc(5) example line', () => {
  const [m] = parseMountinfo(
    '36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n',
  );
  assert.deepEqual(m, {
    mountId: 36,
    parentId: 35,
    majorMinor: '98:0',
    root: '/mnt1',
    mountPoint: '/mnt/parent',
    mountOptions: ['rw', 'noatime'],
    optionalFields: ['master:1'],
    fsType: 'ext3',
    source: '/dev/root',
    superOptions: ['rw', 'errors=continue'],
  });
});

test('octal escapes in paths are decoded', () => {
  const [m] = parseMountinfo(
    '40 27 0:50 /a\\040b /mnt/with\\040space\\011tab\\134x rw shared:7 propagate_from:2 - tmpfs none\\040x rw\n',
  );
  assert.equal(m?.root, '/a b');
  assert.equal(m?.mountPoint, '/mnt/with space\ttab\\x');
  assert.equal(m?.source, 'none x');
  assert.equal(propagationOf(m), 'shared');
});

test('propagation types as findmnt names them', () => {
  const of = (f: string[]): string => propagationOf({ optionalFields: f });
  assert.equal(of([]), 'private');
  assert.equal(of(['shared:1']), 'shared');
  assert.equal(of(['master:3']), 'slave');
  assert.equal(of(['shared:2', 'master:1']), 'shared+slave');
  assert.equal(of(['master:1', 'propagate_from:4']), 'slave');
  assert.equal(of(['unbindable']), 'unbindable');
});

test('malformed and truncated lines are skipped, good lines kept', () => {
  const text = fixture('proc/h2c.mountinfo');
  const lines = text.trimEnd().split('\n');
  const total = lines.length;
  // Truncate the last line in the middle: that line goes, the others stay.
  const truncated = text.slice(0, text.length - Math.floor((lines.at(-1)?.length ?? 0) / 2));
  assert.equal(parseMountinfo(truncated).length, total - 1);
  const garbage = [
    '',
    'x',
    '1 2 3',
    'a b 0:1 / / rw - ext4 x rw',
    '1 2 3:4 / / rw shared:1',
    '1 2 nope / / rw - ext4 x rw',
  ];
  assert.equal(parseMountinfo([...garbage, ...lines].join('\n')).length, total);
});

test('mountAt picks the mount on top; mountContaining the longest prefix', () => {
  const mounts = parseMountinfo(
    [
      '1 0 8:1 / / rw - ext4 /dev/a rw',
      '2 1 8:1 /x /data rw shared:1 - ext4 /dev/a rw',
      '3 1 8:1 /y /data rw master:1 - ext4 /dev/a rw',
      '4 1 8:1 / /var/lib rw - ext4 /dev/b rw',
    ].join('\n'),
  );
  assert.equal(mountAt(mounts, '/data')?.mountId, 3);
  assert.equal(mountAt(mounts, '/nope'), undefined);
  assert.equal(mountContaining(mounts, '/var/lib/kubelet/x')?.mountId, 4);
  assert.equal(mountContaining(mounts, '/var/libx')?.mountId, 1);
  assert.equal(mountContaining(mounts, '/data/sub')?.mountId, 3);
});

const pathArb = fc
  .array(fc.stringMatching(/^[a-z0-9 \t\\._-]{1,8}$/), { minLength: 0, maxLength: 4 })
  .map((parts) => '/' + parts.join('/'));

function escape(s: string): string {
  return s.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

test('property: serialised entries parse back to the same fields', () => {
  const entryArb = fc.record({
    mountId: fc.nat(100000),
    parentId: fc.nat(100000),
    majorMinor: fc.tuple(fc.nat(300), fc.nat(300)).map(([a, b]) => `${a}:${b}`),
    root: pathArb,
    mountPoint: pathArb,
    mountOptions: fc.constantFrom(['rw'], ['ro', 'relatime'], ['rw', 'nosuid', 'nodev']),
    optionalFields: fc.subarray(['shared:1', 'master:2', 'propagate_from:3', 'unbindable']),
    fsType: fc.constantFrom('ext4', 'tmpfs', 'overlay', 'proc'),
    source: fc.constantFrom('/dev/vda', 'tmpfs', 'overlay'),
    superOptions: fc.constantFrom(['rw'], ['rw', 'size=4k']),
  });
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 20 }), (entries: MountInfo[]) => {
      const text = entries
        .map((e) =>
          [
            e.mountId,
            e.parentId,
            e.majorMinor,
            escape(e.root),
            escape(e.mountPoint),
            e.mountOptions.join(','),
            ...e.optionalFields,
            '-',
            e.fsType,
            e.source,
            e.superOptions.join(','),
          ].join(' '),
        )
        .join('\n');
      assert.deepEqual(
        parseMountinfo(text),
        entries.map((e) => ({ ...e })),
      );
    }),
  );
});

test('property: arbitrary text never throws', () => {
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => Array.isArray(parseMountinfo(s))));
  fc.assert(fc.property(fc.string(), (s) => typeof unescapeOctal(s) === 'string'));
});

test('mountPointsHolding: a mount point is in the set exactly when some path is under it', () => {
  const segment = fc.stringMatching(/^[a-c]{1,2}$/);
  const path = fc
    .tuple(fc.array(segment, { maxLength: 4 }), fc.boolean())
    .map(([parts, slash]) => `/${parts.join('/')}${slash && parts.length > 0 ? '/' : ''}`);
  fc.assert(
    fc.property(fc.array(path, { maxLength: 5 }), path, (paths, mp) => {
      const mountPoint = mp.length > 1 ? mp.replace(/\/$/, '') : mp;
      assert.equal(
        mountPointsHolding(paths).has(mountPoint),
        paths.some((p) => isUnder(p, mountPoint)),
        `${JSON.stringify(paths)} ${mountPoint}`,
      );
    }),
  );
});

test('property: a captured table broken anywhere parses to whole entries, filtered or not', () => {
  for (const name of ['host.mountinfo', 'bidir-privileged.mountinfo', 'h2c.mountinfo']) {
    const whole = fixture(`proc/${name}`);
    fc.assert(
      fc.property(mutated(whole), (text) => {
        const all = parseMountinfo(text);
        for (const m of all) {
          assert.ok(Number.isInteger(m.mountId) && m.mountId >= 0);
          assert.equal(typeof m.mountPoint, 'string');
          assert.equal(typeof propagationOf(m), 'string');
        }
        // The fast path for a few mount points keeps exactly what the full parse has there.
        const wanted = new Set(all.slice(0, 3).map((m) => m.mountPoint));
        assert.deepEqual(
          parseMountinfo(text, (mp) => wanted.has(mp)),
          all.filter((m) => wanted.has(m.mountPoint)),
        );
      }),
      { numRuns: 60 },
    );
  }
});
