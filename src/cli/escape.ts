/**
 * Text a container, the runtime or the API controls (process names, pod and image names, paths,
 * messages, error texts) made safe to print on a terminal. Every table cell and message line of
 * the human outputs goes through `escapeText`: a string can then neither move the cursor, clear
 * the screen, set the window title nor start a new line of its own. json and yaml are data and
 * stay exact.
 */

// The characters a terminal may act on (C0, DEL, C1), the backslash that introduces an escape,
// and the bidi embeddings, overrides and isolates that reorder what a reader sees.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\\\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `s` with every character a terminal could act on written out visibly, one line whatever `s`
 * holds: C0 controls (U+0000–U+001F: `\t`, `\n`, `\r`, else `\x1b` and the like), DEL and the C1
 * controls (U+007F–U+009F: `\x7f`, `\x9b`), the Unicode bidi embeddings, overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069: `\u202e`), which would make a name read in another order than
 * it is written, and the backslash itself (`\\`), so that no input can pass for an escape.
 * Everything else, UTF-8 names included, is kept.
 */
export function escapeText(s: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) ? s.replace(UNSAFE, escapeOne) : s;
}

/**
 * A line of nsreport's own text with every interpolated value escaped:
 * escaped`nsreport: warning: ${pod}: ${message}\n` — the literal parts (a newline included) are
 * ours, the values are not.
 */
export function escaped(literals: TemplateStringsArray, ...values: readonly unknown[]): string {
  let out = literals[0] ?? '';
  values.forEach((v, i) => {
    out += escapeText(String(v)) + (literals[i + 1] ?? '');
  });
  return out;
}

// Characters drawn with no width (combining marks; zero-width and format characters, but the soft
// hyphen, which terminals draw) and those drawn two columns wide (East Asian wide and fullwidth
// forms, the common emoji blocks: Unicode's EastAsianWidth.txt, W and F), as terminals draw them.
const ZERO_WIDTH = /^(?!\u00ad)[\p{Mn}\p{Me}\p{Cf}]$/u;
const WIDE =
  /^[\u1100-\u115f\u231a\u231b\u2329\u232a\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{1b000}-\u{1b2ff}\u{1f200}-\u{1f2ff}\u{1f300}-\u{1f64f}\u{1f680}-\u{1f6ff}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]$/u;

/** Columns one character (a code point) takes on a terminal. */
function charWidth(ch: string): number {
  if (ZERO_WIDTH.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

/** Columns text that is already escaped (or has no controls) takes on a terminal. */
export function columns(text: string): number {
  // Printable ASCII, the usual case, is one column a character.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  for (const ch of text) width += charWidth(ch);
  return width;
}

/** Columns raw text takes on a terminal once escaped: what table columns are aligned on. */
export function displayWidth(s: string): number {
  return columns(escapeText(s));
}

/** User-perceived characters: a cut never splits a letter from its accent or an emoji sequence. */
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

function graphemes(s: string): string[] {
  return Array.from(GRAPHEMES.segment(s), (g) => g.segment);
}

/**
 * Raw text cut at its end to at most `max` columns once escaped, marked with "…":
 * `kube-system/kube-apiserver-…`. The result is still raw: the renderer escapes it.
 */
export function cutEnd(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  let out = '';
  let width = 0;
  for (const g of graphemes(s)) {
    width += displayWidth(g);
    if (width > max - 1) break;
    out += g;
  }
  return `${out}…`;
}

/** Raw text cut at its start (the end of a path says most: `…/pki/etcd`), as `cutEnd`. */
export function cutStart(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  let out = '';
  let width = 0;
  for (const g of graphemes(s).reverse()) {
    width += displayWidth(g);
    if (width > max - 1) break;
    out = g + out;
  }
  return `…${out}`;
}

/**
 * Escaped text as lines of at most `width` columns, broken at spaces (a word wider than a line
 * is cut where it must be); a continuation is indented two more than the text's own indent.
 */
export function wrapText(text: string, width: number): string[] {
  if (columns(text) <= width) return [text];
  const lead = /^ */.exec(text)?.[0] ?? '';
  const indent = `${lead}  `;
  const lines: string[] = [];
  let line = lead;
  const room = (): number => width - columns(line);
  const started = (): boolean => line.length > lead.length && line !== indent;
  const next = (): void => {
    lines.push(line);
    line = indent;
  };
  for (const word of text.slice(lead.length).split(' ')) {
    const sep = started() ? ' ' : '';
    if (columns(word) + sep.length <= room()) {
      line += sep + word;
      continue;
    }
    if (started()) next();
    for (const g of graphemes(word)) {
      if (columns(g) > room()) next();
      line += g;
    }
  }
  if (started()) lines.push(line);
  return lines;
}
