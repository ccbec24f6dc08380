const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
const RESET = '\x1b[0m';

/**
 * Turns one pino JSON line into a line for a person at a terminal:
 * `15:43:10.123 INFO  tessera listening on http://127.0.0.1:8000  database=/srv/tessera.db`.
 * Fields other than `level`, `time` and `msg` follow as `key=value` (strings with spaces or
 * quotes, and objects, as JSON); an error's stack follows on indented lines. A line that is not
 * a JSON object is passed through unchanged. Linear in the line's length.
 */
export function prettyLogLine(line: string, colour = false): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return line;
  const { level, time, msg, err, ...fields } = entry as Record<string, unknown>;
  const levelName = typeof level === 'number' ? (LEVELS[level] ?? String(level)) : String(level ?? '');
  const paint = colour && typeof level === 'number' ? COLOURS[level] : undefined;
  const parts = [
    typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '',
    paint ? `${paint}${levelName.padEnd(5)}${RESET}` : levelName.padEnd(5),
    msg === undefined ? '' : String(msg),
  ];
  const pairs = Object.entries(fields).map(([key, value]) => `${key}=${formatValue(value)}`);
  let text = `${parts.filter((part) => part !== '').join(' ')}${pairs.length > 0 ? `  ${pairs.join(' ')}` : ''}`;
  if (err && typeof err === 'object') {
    const { stack, message } = err as { stack?: unknown; message?: unknown };
    const detail = typeof stack === 'string' ? stack : String(message ?? JSON.stringify(err));
    text += `\n    ${detail.split('\n').join('\n    ')}`;
  }
  return text;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** A pino destination that writes each line pretty-printed to `out` (a terminal). */
export function prettyDestination(out: NodeJS.WritableStream & { isTTY?: boolean }): { write(chunk: string): void } {
  const colour = out.isTTY === true && !process.env.NO_COLOR;
  return {
    write(chunk: string) {
      let text = '';
      for (const line of chunk.split('\n')) if (line !== '') text += `${prettyLogLine(line, colour)}\n`;
      out.write(text);
    },
  };
}
