import { createCipheriv, randomBytes } from 'node:crypto';

/** A token as the service stored it before client binding and key ids: `v1:<iv>:<tag>:<ciphertext>`. */
export function encryptV1(key: Buffer, token: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return [
    'v1',
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    ciphertext.toString('base64url'),
  ].join(':');
}
