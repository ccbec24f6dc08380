import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { TesseraError } from '../errors.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals secrets that a dialect must hand out again (DRF's one token per user, Conjur's API
 * key) with AES-256-GCM under a key derived from the master key. A sealed value reads
 * `v1.<key id>.<base64url(iv ‖ ciphertext ‖ tag)>`: the key id lets the master key rotate —
 * values sealed under an older key still open while that key is listed as previous.
 *
 * Each value is bound to a context string (its purpose and owner) as additional
 * authenticated data, so a sealed value copied into another row does not open there.
 */
export class Sealer {
  readonly #current: { id: string; key: Buffer };
  readonly #byId: Map<string, Buffer>;

  /** @param masterKeys the current master key first, then any previous ones still in use. */
  constructor(masterKeys: readonly Buffer[]) {
    const [first] = masterKeys;
    if (!first) throw new TypeError('Sealer needs at least one master key');
    this.#byId = new Map();
    for (const master of masterKeys) {
      this.#byId.set(masterKeyId(master), deriveKey(master, 'tessera seal v1'));
    }
    this.#current = { id: masterKeyId(first), key: deriveKey(first, 'tessera seal v1') };
  }

  /** The id of the key new values are sealed under. */
  get keyId(): string {
    return this.#current.id;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${this.#current.id}.${body.toString('base64url')}`;
  }

  /** @throws TesseraError `SEALED_VALUE_INVALID` when malformed, unknown-key or tampered. */
  unseal(sealed: string, context: string): string {
    const [version, id, encoded, extra] = sealed.split('.');
    const key = id === undefined ? undefined : this.#byId.get(id);
    if (version !== VERSION || extra !== undefined || encoded === undefined || !key) {
      throw new TesseraError('SEALED_VALUE_INVALID');
    }
    const body = Buffer.from(encoded, 'base64url');
    if (body.length < IV_BYTES + TAG_BYTES) throw new TesseraError('SEALED_VALUE_INVALID');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return plain.toString('utf8');
    } catch (cause) {
      throw new TesseraError('SEALED_VALUE_INVALID', undefined, { cause });
    }
  }
}

/** A short public identifier of a master key: never the key, never enough to guess it. */
export function masterKeyId(master: Buffer): string {
  return createHash('sha256').update('tessera key id').update(master).digest('hex').slice(0, 12);
}

/**
 * Derives a purpose-specific key from the master key (HKDF-SHA256, RFC 5869), so the one
 * master key never encrypts or MACs anything directly and purposes cannot be confused.
 */
export function deriveKey(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), purpose, 32));
}
