import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  columns,
  cutEnd,
  cutStart,
  displayWidth,
  escapeText,
  escaped,
  wrapText,
} from '../../src/cli/escape.js';

/** What a terminal may act on: C0, DEL, C1, and the bidi embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const ACTIVE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

test('escapeText: every control and bidi character written out, the backslash too', () => {
  const cases: [string, string, string][] = [
    ['window title (OSC)', '\u001b]0;pwned\u0007', '\\x1b]0;pwned\\x07'],
    ['clear screen (CSI)', '\u001b[2J', '\\x1b[2J'],
    ['cursor up and a fake line', 'x\u001b[1A\rALL CLEAR', 'x\\x1b[1A\\rALL CLEAR'],
    ['C1 CSI', 'a\u009b2Jb', 'a\\x9b2Jb'],
    ['C1 OSC and ST', '\u009d0;t\u009c', '\\x9d0;t\\x9c'],
    ['NUL', 'a\u0000b', 'a\\x00b'],
    ['DEL', 'a\u007fb', 'a\\x7fb'],
    ['tab, newline, carriage return', 'a\tb\nc\rd', 'a\\tb\\nc\\rd'],
    ['the last C0 and the first C1', '\u001f\u0080', '\\x1f\\x80'],
    ['right-to-left override', 'evil\u202Etxt.exe', 'evil\\u202etxt.exe'],
    [
      'every bidi embedding and override',
      '\u202a\u202b\u202c\u202d',
      '\\u202a\\u202b\\u202c\\u202d',
    ],
    ['every bidi isolate', '\u2066\u2067\u2068\u2069', '\\u2066\\u2067\\u2068\\u2069'],
    ['a backslash', 'C:\\x1b', 'C:\\\\x1b'],
    ['a backslash that looks like an escape', '\\u202e', '\\\\u202e'],
    ['plain ASCII', 'kube-system/etcd-node-1', 'kube-system/etcd-node-1'],
    ['UTF-8 names', 'données/日本語/ünïcödé/🙂', 'données/日本語/ünïcödé/🙂'],
    ['NBSP and the bidi marks (not overrides)', 'a\u00a0b\u200fc', 'a\u00a0b\u200fc'],
    ['empty', '', ''],
  ];
  for (const [what, input, want] of cases) assert.equal(escapeText(input), want, what);
});

test('escapeText: nothing a terminal acts on is left, and the escaping is reversible', () => {
  const unescape = (s: string): string =>
    s.replace(
      /\\(\\|t|n|r|x([0-9a-f]{2})|u([0-9a-f]{4}))/g,
      (_m, c: string, x?: string, u?: string) =>
        c === '\\'
          ? '\\'
          : c === 't'
            ? '\t'
            : c === 'n'
              ? '\n'
              : c === 'r'
                ? '\r'
                : String.fromCharCode(parseInt(x ?? u ?? '', 16)),
    );
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const e = escapeText(s);
      assert.doesNotMatch(e, ACTIVE);
      assert.equal(unescape(e), s);
    }),
  );
});

test('escaped: the literal parts are ours, every value is escaped', () => {
  const pod = 'shop/\u001b[2Jweb';
  const message = 'bad\nALL CLEAR';
  assert.equal(
    escaped`nsreport: warning: ${pod}: ${message} (${3})\n`,
    'nsreport: warning: shop/\\x1b[2Jweb: bad\\nALL CLEAR (3)\n',
  );
});

test('displayWidth: terminal columns of the escaped text', () => {
  const cases: [string, number][] = [
    ['abc', 3],
    ['\u001b[2J', 7], // \x1b[2J
    ['a\tb', 4],
    ['日本', 4],
    ['e\u0301', 1], // e and a combining acute accent
    ['🙂', 2],
    ['données', 7],
  ];
  for (const [s, w] of cases) assert.equal(displayWidth(s), w, JSON.stringify(s));
});

test('cutEnd and cutStart: at most the columns asked, once escaped; the result stays raw', () => {
  assert.equal(cutEnd('kube-system/kube-apiserver-node-1', 20), 'kube-system/kube-ap…');
  assert.equal(cutStart('/etc/kubernetes/pki/etcd', 12), '…es/pki/etcd');
  assert.equal(cutEnd('short', 20), 'short');
  // An escape is never cut in half: it is one character of the raw text.
  const hostile = 'ab\u001b[2Jcdef';
  const cut = cutEnd(hostile, 8);
  assert.equal(cut, 'ab\u001b[…');
  assert.ok(displayWidth(cut) <= 8);
  assert.equal(escapeText(cut), 'ab\\x1b[…');
  // A wide character is not split and counts two columns.
  assert.equal(cutEnd('日本語のパス', 7), '日本語…');
  assert.equal(cutStart('/データ/日本', 7), '…/日本');
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 2, max: 40 }), (s, max) => {
      assert.ok(displayWidth(cutEnd(s, max)) <= max);
      assert.ok(displayWidth(cutStart(s, max)) <= max);
    }),
  );
});

test('wrapText: lines of at most the columns asked, broken at spaces, continued under the text', () => {
  assert.deepEqual(wrapText('  short line', 40), ['  short line']);
  const uid = 'dda5349a-1d3d-417b-a813-51beb77dadf1';
  const line = `  nsr-lab/liar: describes pod UID ${uid}; the Pod of this name is ${uid} (critical)`;
  const wrapped = wrapText(line, 120);
  assert.deepEqual(wrapped, [
    `  nsr-lab/liar: describes pod UID ${uid}; the Pod of this name is`,
    `    ${uid} (critical)`,
  ]);
  // A word wider than a line is cut; nothing is lost but the spaces the breaks replace.
  const long = `  x: ${'a'.repeat(50)} ${'漢'.repeat(40)} end`;
  const cut = wrapText(long, 30);
  for (const l of cut) assert.ok(columns(l) <= 30, l);
  assert.equal(cut.join('').replace(/ /g, ''), long.replace(/ /g, ''));
  assert.ok(cut.slice(1).every((l) => l.startsWith('    ')));
});
