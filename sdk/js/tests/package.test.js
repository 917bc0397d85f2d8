// The package as users get it: `npm pack` (which builds dist/ through
// prepack), the tarball's file list, the tarball installed with npm and
// loaded by Node with import and require, and WeChat's own npm build
// (miniprogram-ci's packNpmManually, what the developer tools run on
// "Build npm") packing it into miniprogram_npm, where the packed module is
// loaded as a mini program loads it and logs in under a `wx` stub against a
// real `wxauth dev`.
//
// miniprogram-ci is a devDependency (npm ci). Without it this file skips the
// mini program part, saying so — unless WXAUTH_SDK_DEVDEPS=required (CI),
// which makes its absence a failure.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import vm from 'node:vm'
import { fakeMiniProgram, http, delta, printSummary, record, short, startServer } from './support.js'

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const require = createRequire(import.meta.url)

let work // temp dir: the tarball, a project that installs it, the mini program
let tarball
let packed // npm pack --json's answer

before(() => {
  work = mkdtempSync(join(tmpdir(), 'wxauth-sdk-pack-'))
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  packed = JSON.parse(out.slice(out.indexOf('[')))[0]
  tarball = join(work, packed.filename)
  const project = join(work, 'project')
  execFileSync('mkdir', ['-p', project])
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', version: '1.0.0', private: true }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: project, stdio: ['ignore', 'ignore', 'inherit'] })
})

after(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

test('npm pack ships the ES module, the CommonJS build, the types and the README, nothing else', () => {
  const srcFiles = readdirSync(join(pkgDir, 'src')).filter((f) => f.endsWith('.js')).map((f) => `src/${f}`)
  const want = [
    'README.md', 'package.json', 'index.js', 'index.d.ts',
    'dist/index.js', 'dist/index.d.ts', 'dist/package.json',
    ...srcFiles,
  ].sort()
  const got = packed.files.map((f) => f.path).sort()
  assert.deepEqual(got, want)
  for (const f of got) {
    assert.ok(!/(^|\/)(tests?|node_modules|scripts|types)\//.test(f) && !f.endsWith('.go'), `${f} must not be packed`)
  }
  record('npm pack', { files: got.length, size: packed.size, unpackedSize: packed.unpackedSize })
})

test('the installed tarball: import gets the ES module, require the CommonJS build, with the same API', async () => {
  const installed = join(work, 'project', 'node_modules', 'wxauth-client')
  const esm = await import(pathToFileURL(join(installed, pkg.exports['.'].import.default)).href)
  const projectRequire = createRequire(join(work, 'project', 'index.js'))
  const cjs = projectRequire('wxauth-client')
  assert.equal(projectRequire.resolve('wxauth-client'), join(installed, 'dist', 'index.js'))
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).sort())
  assert.equal(typeof cjs.createClient, 'function')
  assert.equal(cjs.default, cjs.createClient)
  assert.deepEqual(cjs.STORAGE_KEYS, esm.STORAGE_KEYS)
  assert.equal(cjs.originOf('HTTPS://Auth.Example.com:443/x'), 'https://auth.example.com')
  const err = new cjs.WxAuthError('invalid_code', 400)
  assert.ok(err instanceof Error && err.code === 'invalid_code' && err.status === 400)
  assert.throws(() => cjs.createClient({}), /baseURL is required/)
})

// miniprogramCI answers miniprogram-ci, or null (skip) when it is not
// installed and not required.
function miniprogramCI(t) {
  try {
    return require('miniprogram-ci')
  } catch (err) {
    if (process.env.WXAUTH_SDK_DEVDEPS === 'required') throw err
    t.skip('miniprogram-ci is not installed: run npm ci in sdk/js')
    return null
  }
}

let srv
test('WeChat\'s npm build packs the tarball; the packed module logs in under wx', async (t) => {
  const ci = miniprogramCI(t)
  if (!ci) return
  const mp = join(work, 'miniprogram')
  const result = await ci.packNpmManually({
    packageJsonPath: join(work, 'project', 'package.json'),
    miniprogramNpmDistDir: mp,
  })
  assert.deepEqual(result.warnList, [], 'packNpmManually warnings')
  assert.equal(result.otherNpmPackNum, 1)
  const entry = join(mp, 'miniprogram_npm', 'wxauth-client', 'index.js')
  assert.ok(existsSync(entry), `${entry} built`)
  const code = readFileSync(entry, 'utf8')
  assert.ok(!/^\s*(import|export)\s/m.test(code), 'the packed module is CommonJS')

  srv = await startServer()
  const wx = fakeMiniProgram(srv, await srv.newUser('packed'))
  // A mini program's script: CommonJS, `wx` a global of its own context, no
  // fetch, window or document.
  const context = vm.createContext({ wx, console, setTimeout, clearTimeout, Promise })
  const module = { exports: {} }
  vm.runInContext(`(function (require, module, exports) {${code}\n})`, context, { filename: entry })(
    (name) => { throw new Error(`the packed module requires ${name}`) }, module, module.exports)
  const { createClient } = module.exports
  const auth = createClient({ baseURL: srv.base, app: 'mp' }) // platform detected: wx
  assert.equal(auth.platform, 'wx')
  const before = await srv.counters()
  const login = await auth.login()
  assert.ok(login.access_token && login.refresh_token)
  const me = await auth.request('/v1/me')
  assert.equal(me.statusCode, 200)
  assert.equal(me.data.id, login.user.id)
  assert.equal(wx.store.get('wxauth.access_token'), login.access_token)
  const d = delta(before, await srv.counters())
  assert.equal(d[http('POST /v1/miniprogram/login', 200)], 1)
  assert.equal(d[http('GET /v1/me', 200)], 1)
  record('miniprogram_npm module under wx', { 'wx.login': wx.calls.login, ...short(d) })
})

after(async () => {
  await srv?.stop()
  printSummary('package.test.js')
})
