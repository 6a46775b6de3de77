import { displayWidth, escapeText } from './escape.js';

/** A cell nsreport colours: its text is escaped like any other; the SGR parameters are ours. */
export interface StyledCell {
  readonly text: string;
  /** SGR parameters (`1;31`: bold red), or '' for none. */
  readonly sgr: string;
}

/** A table cell: raw text (escaped when rendered), or raw text with nsreport's colour. */
export type Cell = string | StyledCell;

const textOf = (c: Cell): string => (typeof c === 'string' ? c : c.text);

function render(c: Cell, pad: number): string {
  const text = escapeText(textOf(c));
  const shown = typeof c === 'string' || c.sgr === '' ? text : `\u001b[${c.sgr}m${text}\u001b[0m`;
  return shown + ' '.repeat(Math.max(0, pad));
}

/**
 * Renders rows as left-aligned columns separated by three spaces (kubectl's look). Every cell is
 * escaped here (escape.ts), so nothing in a cell can draw outside it; columns are as wide as
 * their widest cell once escaped, in terminal columns.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const widths = header.map((h, i) =>
    Math.max(displayWidth(h), ...rows.map((r) => displayWidth(textOf(r[i] ?? '')))),
  );
  const line = (cells: readonly Cell[]): string =>
    cells
      .map((c, i) =>
        render(c, i === cells.length - 1 ? 0 : (widths[i] ?? 0) - displayWidth(textOf(c))),
      )
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
