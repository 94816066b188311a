import { describeError } from './errors';

/** The streams and environment a CLI run uses; tests and the entry file pass their own. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

type Text = string | string[];

// C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows.
/* eslint-disable no-control-regex -- matching control characters is the point */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */
const escapeChar = (char: string): string => {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
};

/**
 * `text` with every control character written as an escape (`\x1b`, `\x0a`, `\u{202e}`): a
 * client's name or Meta's error text is data, and must not move the cursor, recolour or clear an
 * operator's terminal, or start a line that looks like the CLI's own.
 */
export function printable(text: string): string {
  return text.replace(CONTROLS, escapeChar);
}

/** What text mode writes: the CLI's own line breaks stay, every other control is escaped. */
const terminalSafe = (text: string): string => text.replace(CONTROLS_BUT_NEWLINE, escapeChar);

/**
 * Where a command's output goes: with `--json`, one JSON document on stdout (errors too) and
 * nothing else; otherwise text for people on stdout and notes on stderr.
 */
export class Output {
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** The command's result: `value` as JSON with `--json`, else `text`. */
  result(value: unknown, text: Text | (() => Text)): void {
    if (this.json) {
      this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    const lines = typeof text === 'function' ? text() : text;
    this.io.stdout.write(`${terminalSafe((Array.isArray(lines) ? lines : [lines]).join('\n'))}\n`);
  }

  /** A line of text output on stdout (plain progress); nothing with `--json`. */
  line(text: string): void {
    if (!this.json) this.io.stdout.write(`${terminalSafe(text)}\n`);
  }

  /** A note for the person at the terminal on stderr; nothing with `--json`. */
  note(text: string): void {
    if (!this.json) this.io.stderr.write(`${terminalSafe(text)}\n`);
  }

  /** Prints an error the way the mode asks and returns its exit code. */
  error(err: unknown): number {
    const described = describeError(err);
    if (this.json) {
      const { exitCode: _exitCode, unexpected: _unexpected, ...error } = described;
      this.io.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
    } else {
      const lines = [`error: ${described.message}`];
      if (described.hint) lines.push(`hint: ${described.hint}`);
      if (described.unexpected && err instanceof Error && err.stack) lines.push(err.stack);
      this.io.stderr.write(`${terminalSafe(lines.join('\n'))}\n`);
    }
    return described.exitCode;
  }
}

/** Rows under headers, each column as wide as its widest cell. */
export function table(headers: string[], rows: string[][]): string[] {
  rows = rows.map((row) => row.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [render(headers), ...rows.map(render)];
}

/** `text` cut to `max` characters with an ellipsis, for table cells (JSON keeps it whole). */
export function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `42s`, `12m`, `3h 5m`, `2d 4h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** `2026-11-25 09:00:00 UTC (in 2h 59m)`. */
export function formatTime(iso: string, now = Date.now()): string {
  const at = Date.parse(iso);
  const text = `${new Date(at)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} UTC`;
  const delta = at - now;
  return `${text} (${delta >= 0 ? `in ${formatAge(delta)}` : `${formatAge(-delta)} ago`})`;
}

/** `Meta error 190` for Meta's numeric codes, the code itself otherwise. */
export function formatErrorCode(code: string | null | undefined): string {
  if (!code) return 'error';
  return /^\d+$/.test(code) ? `Meta error ${code}` : code;
}
