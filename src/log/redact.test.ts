import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { redactor, SecretRedactor } from './redact.js';

describe('SecretRedactor', () => {
  it('masks registered secrets, longest first', () => {
    const r = new SecretRedactor();
    r.add('abcd1234');
    r.add('abcd1234-extended');
    expect(r.scrub('token abcd1234-extended and abcd1234')).toBe('token *** and ***');
  });

  it('ignores values too short to mask safely', () => {
    const r = new SecretRedactor();
    r.add('abc');
    expect(r.scrub('abc abc')).toBe('abc abc');
  });

  it('masks credentials in URLs and DSN pairs even when never registered', () => {
    const r = new SecretRedactor();
    expect(r.scrub('connect postgres://ann:s3cr%40t@db:5432/x failed')).toBe('connect postgres://ann:***@db:5432/x failed');
    expect(r.scrub("host=db password='p w' user=ann")).toBe('host=db password=*** user=ann');
    expect(r.scrub('api_key: AKIA123 token=xyz')).toBe('api_key: *** token=***');
  });
});

describe('the logger', () => {
  it('scrubs every line it writes, whatever field carries the secret', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        out += chunk.toString();
        done();
      },
    });
    redactor.add('very-secret-value-42');
    const log = createLogger({ format: 'json', destination: sink });
    log.info({ nested: { anything: 'very-secret-value-42' } }, 'message with very-secret-value-42');
    log.error(new Error('driver said very-secret-value-42'));
    expect(out).toContain('***');
    expect(out).not.toContain('very-secret-value-42');
    expect(out.trim().split('\n')).toHaveLength(2);
  });
});
