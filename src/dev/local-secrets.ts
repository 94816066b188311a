import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Keys `npm start` makes up on first run and keeps in DATA_DIR, so a laptop needs no setup. */
export interface LocalSecrets {
  tokenEncryptionKey: string;
  adminApiKey: string;
  readApiKey: string;
}

/** Reads DATA_DIR/local-secrets.json, creating it (mode 0600) on first use. */
export function loadOrCreateLocalSecrets(dataDir: string): LocalSecrets {
  const file = path.join(dataDir, 'local-secrets.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as LocalSecrets;
  const secrets: LocalSecrets = {
    tokenEncryptionKey: randomBytes(32).toString('hex'),
    adminApiKey: `admin-${randomBytes(18).toString('base64url')}`,
    readApiKey: `read-${randomBytes(18).toString('base64url')}`,
  };
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
