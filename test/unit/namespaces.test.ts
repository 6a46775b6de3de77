import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseNsLink } from '../../src/procfs/namespaces.js';
import { mutated } from './fixtures.js';

test('parseNsLink reads type and inode of every namespace link', () => {
  for (const [text, type, inode] of [
    ['net:[4026531833]', 'net', 4026531833],
    ['mnt:[4026532406]', 'mnt', 4026532406],
    ['pid_for_children:[4026532407]', 'pid_for_children', 4026532407],
    ['time:[4026531834]\n', 'time', 4026531834],
  ] as const) {
    assert.deepEqual(parseNsLink(text), { type, inode });
  }
});

test('parseNsLink rejects malformed and truncated links', () => {
  for (const bad of [
    '',
    'net:',
    'net:[',
    'net:[]',
    'net:[12',
    'net:[abc]',
    ':[1]',
    'socket:[0]',
    'net:[99999999999999999999]',
  ]) {
    assert.equal(parseNsLink(bad), null, bad);
  }
});

test('parseNsLink never throws and only returns positive safe inodes', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      const r = parseNsLink(s);
      return r === null || (Number.isSafeInteger(r.inode) && r.inode > 0);
    }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom('net', 'mnt', 'uts', 'cgroup'),
      fc.integer({ min: 1, max: 2 ** 40 }),
      (t, i) => {
        assert.deepEqual(parseNsLink(`${t}:[${i}]`), { type: t, inode: i });
      },
    ),
  );
});

test('property: a link target broken anywhere is a namespace of a safe inode or null', () => {
  fc.assert(
    fc.property(mutated('net:[4026531840]'), (text) => {
      const link = parseNsLink(text);
      return link === null || (Number.isSafeInteger(link.inode) && link.inode > 0);
    }),
  );
});
