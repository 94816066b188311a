#!/usr/bin/env node
// The `social-media-cache` command: the TypeScript source through tsx in a checkout, the
// compiled dist/ where only that was shipped (npm run build).
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'src', 'cli.ts');
if (fs.existsSync(source)) {
  require('tsx/cjs');
  require(source);
} else {
  require(path.join(root, 'dist', 'src', 'cli.js'));
}
