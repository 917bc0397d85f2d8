// Builds the CommonJS edition of the SDK beside the ES module, in dist/:
// index.js (index.js and src/ bundled into one file, for require() and the
// mini program toolchains: WeChat's "Build npm" packs package.json's main),
// index.d.ts (the same types) and a package.json saying "type": "commonjs",
// so that Node and TypeScript read both as CommonJS. The file is named .js,
// not .cjs, because WeChat's npm build adds ".js" to an entry it does not
// recognise and then finds nothing. The ES module itself (index.js, src/)
// is shipped as written, with no build.
//
// Run by `npm run build` and, through prepack, by `npm pack`/`npm publish`.

import { build } from 'esbuild'
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(dir, 'dist')

rmSync(dist, { recursive: true, force: true })
mkdirSync(dist)
await build({
  entryPoints: [join(dir, 'index.js')],
  outfile: join(dist, 'index.js'),
  bundle: true,
  format: 'cjs',
  platform: 'neutral',
  // Syntax up to ES2018 (async functions, object spread) stays as written;
  // anything newer would be lowered. WeChat's "compile JS to ES5" takes it
  // further for old base libraries.
  target: 'es2018',
  legalComments: 'none',
  banner: { js: '// wxauth-client, CommonJS build of index.js (scripts/build.mjs). Do not edit.' },
  logLevel: 'warning',
})
// esbuild's CommonJS output has the same names as the ES module, the
// default export as exports.default: the ES declarations describe it too.
copyFileSync(join(dir, 'index.d.ts'), join(dist, 'index.d.ts'))
writeFileSync(join(dist, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`)
