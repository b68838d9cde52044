import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

describe('SecretBox.mac', () => {
  it('is stable per key and purpose, differs across keys and purposes, and is not the plain SHA-256', () => {
    const key = randomBytes(32);
    const box = SecretBox.fromKey(key);
    const a = box.mac('login-name', 'hunter2');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(SecretBox.fromKey(key).mac('login-name', 'hunter2')).toBe(a);
    expect(box.mac('other', 'hunter2')).not.toBe(a);
    expect(SecretBox.fromKey(randomBytes(32)).mac('login-name', 'hunter2')).not.toBe(a);
    expect(a).not.toBe(createHash('sha256').update('hunter2').digest('hex'));
  });
});
