import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** One AES-256 key and its id: a short, non-secret fingerprint written beside each ciphertext. */
export interface TokenKey {
  id: string;
  key: Buffer;
}

/** TOKEN_ENCRYPTION_KEY (`current`, encrypts) and TOKEN_ENCRYPTION_KEY_PREVIOUS (only decrypts, during a rotation). */
export interface TokenKeyring {
  current: TokenKey;
  previous?: TokenKey;
}

/** A stored token that no key of the keyring opens: wrong key, another client's row, or altered. */
export class TokenDecryptError extends Error {
  constructor(reason: string) {
    super(`the stored token cannot be decrypted: ${reason}`);
    this.name = 'TokenDecryptError';
  }
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The key id: 8 hex characters of SHA-256 over a domain prefix and the key, so it says nothing else about the key. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('social-media-cache token key id\0').update(key).digest('hex').slice(0, 8);
}

export function createKeyring(current: Buffer, previous?: Buffer): TokenKeyring {
  return {
    current: { id: keyId(current), key: current },
    ...(previous ? { previous: { id: keyId(previous), key: previous } } : {}),
  };
}

function seal(key: Buffer, plaintext: string, aad: Buffer): { iv: Buffer; tag: Buffer; ciphertext: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

function open(key: Buffer, parts: { iv: Buffer; tag: Buffer; ciphertext: Buffer }, aad?: Buffer): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, { authTagLength: TAG_BYTES });
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(parts.tag);
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * The additional data that binds a ciphertext to its client row: the id in lower case, as
 * Postgres prints it, so a token sealed through an id typed in upper case still opens.
 */
const clientAad = (clientId: string) => Buffer.from(`client:${clientId.toLowerCase()}`, 'utf8');

/**
 * Encrypts a client's Meta token under the current key: `v2:<kid>:<iv>:<tag>:<ciphertext>`
 * (base64url parts), AES-256-GCM with a fresh 12-byte IV and the client id as additional data,
 * so the value opens only on that client's row.
 */
export function encryptToken(keyring: TokenKeyring, clientId: string, token: string): string {
  const { iv, tag, ciphertext } = seal(keyring.current.key, token, clientAad(clientId));
  return [
    'v2',
    keyring.current.id,
    iv.toString('base64url'),
    tag.toString('base64url'),
    ciphertext.toString('base64url'),
  ].join(':');
}

function decodeParts(iv: string, tag: string, ciphertext: string) {
  const parts = {
    iv: Buffer.from(iv, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
    ciphertext: Buffer.from(ciphertext, 'base64url'),
  };
  if (parts.iv.length !== IV_BYTES) throw new TokenDecryptError(`the IV is not ${IV_BYTES} bytes`);
  // GCM would accept a shorter tag and with it a much easier forgery.
  if (parts.tag.length !== TAG_BYTES) throw new TokenDecryptError(`the authentication tag is not ${TAG_BYTES} bytes`);
  return parts;
}

/**
 * Decrypts a stored token of `clientId`. `v2` values are opened with the key their id names;
 * `v1` values (before client binding and key ids) with the current or the previous key.
 * `current` is false when the value should be re-encrypted (v1, or the previous key).
 * Throws `TokenDecryptError`, whose message never holds the value.
 */
export function decryptToken(
  keyring: TokenKeyring,
  clientId: string,
  stored: string,
): { token: string; current: boolean } {
  const fields = stored.split(':');
  const keys = [keyring.current, ...(keyring.previous ? [keyring.previous] : [])];
  if (fields[0] === 'v2' && fields.length === 5) {
    const [, kid, iv, tag, ciphertext] = fields;
    const candidates = keys.filter((k) => k.id === kid);
    if (!candidates.length)
      throw new TokenDecryptError(
        `it was encrypted with key ${kid}, which is neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS`,
      );
    const parts = decodeParts(iv, tag, ciphertext);
    for (const k of candidates) {
      const token = open(k.key, parts, clientAad(clientId));
      if (token !== undefined) return { token, current: k === keyring.current };
    }
    throw new TokenDecryptError(
      `key ${kid} does not authenticate it for this client (copied from another client, or altered)`,
    );
  }
  if (fields[0] === 'v1' && fields.length === 4) {
    const parts = decodeParts(fields[1], fields[2], fields[3]);
    for (const k of keys) {
      const token = open(k.key, parts);
      if (token !== undefined) return { token, current: false };
    }
    throw new TokenDecryptError(
      'neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS authenticates it (v1 value)',
    );
  }
  throw new TokenDecryptError('unrecognised format');
}
