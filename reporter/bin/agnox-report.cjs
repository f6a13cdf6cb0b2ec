#!/usr/bin/env node
// Thin launcher for the built CLI (dist/cli.cjs), so the bin works before and after `npm pack`.
require('../dist/cli.cjs').main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
