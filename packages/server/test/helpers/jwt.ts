import { execFile } from 'node:child_process';
import { createHmac, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** base64url (RFC 7515 2) of a string or bytes, without padding. */
export function b64url(data: string | Buffer): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

/** The decoded header and payload of a compact JWS, read without verifying anything. */
export function decodeParts(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = '', payload = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** Makes a signature over the JWS signing input `header.payload` (its ASCII bytes). */
export type Signer = (signingInput: Buffer) => Buffer;

/** An Ed25519 signer: node:crypto's `sign(null, …)`, as the keyring signs. */
export const ed25519 =
  (privateKey: KeyObject): Signer =>
  (input) =>
    sign(null, input, privateKey);

/** An HMAC-SHA256 signer with the given secret bytes (for algorithm-confusion attacks). */
export const hs256 =
  (secret: Buffer | string): Signer =>
  (input) =>
    createHmac('sha256', secret).update(input).digest();

/**
 * A compact JWS built by hand: header and payload serialised as given (a string payload is
 * used verbatim, so a JSON array or any other text can be sent), then signed by `signer`
 * (omitted: an empty signature, as `alg: none` has).
 */
export function craftJws(header: Record<string, unknown>, payload: unknown, signer?: Signer): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  const signature = signer ? b64url(signer(Buffer.from(input, 'ascii'))) : '';
  return `${input}.${signature}`;
}

/** The absolute file URL of the workspace's `jose` entry point, for a script run outside vitest. */
/** What {@link forgeFrom} changes: header members, claims, or the whole payload text. */
export interface JwsChanges {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  payload?: string;
}

/**
 * A token crafted by hand from a real one's header and claims with changes, signed by
 * `signer` (or unsigned): so a refusal of it is down to the change alone. A member set to
 * undefined is left out, as JSON.stringify drops it.
 */
export function forgeFrom(token: string, changes: JwsChanges, signer?: Signer): string {
  const { header, payload } = decodeParts(token);
  return craftJws({ ...header, ...changes.header }, changes.payload ?? { ...payload, ...changes.claims }, signer);
}

export function joseEntryUrl(): string {
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  const packageDir = join(root, 'node_modules', 'jose');
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    exports: { '.': { default?: string; import?: string } };
  };
  const entry = manifest.exports['.'].import ?? manifest.exports['.'].default;
  if (entry === undefined) throw new Error('jose has no ESM entry point');
  return pathToFileURL(join(packageDir, entry)).href;
}

/**
 * Runs an ES module given as text with `node`, in a directory of its own that is removed
 * afterwards, and resolves with its exit code and output. 127.0.0.1 never goes through a proxy.
 */
export function runNodeModule(
  source: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-verifier-'));
  const file = join(dir, 'verify.mjs');
  writeFileSync(file, source);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [file, ...args],
      {
        timeout: 20_000,
        env: { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' },
      },
      (error, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true });
        if (error && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}
