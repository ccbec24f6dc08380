import { describe, expect, it } from 'vitest';
import { prettyLogLine } from './pretty-log.js';

describe('prettyLogLine', () => {
  const time = Date.UTC(2026, 10, 22, 15, 43, 10, 123);

  it('prints time, level and message, then the other fields as key=value', () => {
    const line = JSON.stringify({ level: 30, time, database: '/srv/t.db', msg: 'tessera listening on http://h:1' });
    expect(prettyLogLine(line)).toBe('15:43:10.123 INFO  tessera listening on http://h:1  database=/srv/t.db');
  });

  it('quotes strings with spaces and prints objects as JSON', () => {
    const line = JSON.stringify({ level: 40, time, msg: 'x', path: 'a b', migrations: ['001', '002'], n: 3 });
    expect(prettyLogLine(line)).toBe('15:43:10.123 WARN  x  path="a b" migrations=["001","002"] n=3');
  });

  it('colours warnings and errors only when asked', () => {
    const line = JSON.stringify({ level: 50, time, msg: 'boom' });
    expect(prettyLogLine(line, true)).toBe('15:43:10.123 \x1b[31mERROR\x1b[0m boom');
    expect(prettyLogLine(JSON.stringify({ level: 30, time, msg: 'ok' }), true)).toBe('15:43:10.123 INFO  ok');
  });

  it('puts an error stack on indented lines below', () => {
    const line = JSON.stringify({ level: 50, time, msg: 'failed', err: { message: 'm', stack: 'Error: m\n    at f' } });
    expect(prettyLogLine(line)).toBe('15:43:10.123 ERROR failed\n    Error: m\n        at f');
  });

  it('passes through a line that is not a JSON object', () => {
    for (const line of ['plain text', '[1,2]', 'null', '{"unterminated']) expect(prettyLogLine(line)).toBe(line);
  });
});
