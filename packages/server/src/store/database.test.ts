import { describe, expect, it } from 'vitest';
import { redact } from './database.js';

describe('redact', () => {
  it('hides a password in the user part and in the query string', () => {
    expect(redact('postgres://u:s3cret@db/t')).not.toContain('s3cret');
    const hidden = redact('postgres://u@db/t?password=s3cret&sslpassword=other&schema=x');
    expect(hidden).not.toContain('s3cret');
    expect(hidden).not.toContain('other');
    expect(hidden).toContain('schema=x');
  });
});
