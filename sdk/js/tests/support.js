// Test support: a real `wxauth dev` (built once per test file, started on a
// free port, stopped after), counters read from the server's /metrics and the
// sandbox's /sandbox/v1/stats, and fake wx / uni objects whose login asks the
// sandbox for a code and whose request does real HTTP.

import { spawn, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const MP_APPID = 'wxd0000000000000a1'
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

const children = new Set()
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

// buildBinary builds cmd/wxauth once per test process (or uses $WXAUTH_BIN).
// The test files run in parallel processes; a lock makes them build one
// after the other, so that a cold Go cache is filled once, not three times.
let built = null
function buildBinary() {
  if (process.env.WXAUTH_BIN) return Promise.resolve(process.env.WXAUTH_BIN)
  built = built || withBuildLock(() => {
    const dir = mkdtempSync(join(tmpdir(), 'wxauth-sdk-bin-'))
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
    const bin = join(dir, 'wxauth')
    execFileSync('go', ['build', '-o', bin, './cmd/wxauth'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] })
    return bin
  })
  return built
}

async function withBuildLock(fn) {
  const lock = join(tmpdir(), `wxauth-sdk-build-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}.lock`)
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
    }
    try { // a lock left by a process that died is taken over
      process.kill(Number(readFileSync(join(lock, 'pid'), 'utf8')), 0)
    } catch (err) {
      if (err.code === 'ESRCH') rmSync(lock, { recursive: true, force: true })
    }
    await sleep(100)
  }
  try {
    writeFileSync(join(lock, 'pid'), String(process.pid))
    return fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

// startServer runs `wxauth dev --addr 127.0.0.1:0` with extra WXAUTH_*
// variables and answers once it prints "wxauth dev is running on http://…".
export async function startServer(env = {}) {
  const bin = await buildBinary()
  const data = mkdtempSync(join(tmpdir(), 'wxauth-sdk-data-'))
  const child = spawn(bin, ['dev', '--addr', '127.0.0.1:0', '--data', data], {
    cwd: data,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let log = ''
  child.stderr.on('data', (d) => { log += d })
  const base = await new Promise((resolveBase, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`wxauth dev did not start in 20 s:\n${out}\n${log}`)), 20_000)
    child.stdout.on('data', (d) => {
      out += d
      const m = /wxauth dev is running on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolveBase(m[1])
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`wxauth dev exited (${code}):\n${out}\n${log}`))
    })
  })
  child.stdout.resume()
  const exited = new Promise((r) => child.on('exit', r))
  return {
    base,
    async stop() {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
      children.delete(child)
      rmSync(data, { recursive: true, force: true })
    },
    async json(method, path, body) {
      const res = await fetch(base + path, {
        method,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      })
      const text = await res.text()
      if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`)
      return text ? JSON.parse(text) : null
    },
    newUser(prefix) {
      return this.json('POST', '/sandbox/v1/users', { name: `${prefix}${Math.random().toString(36).slice(2, 8)}` })
        .then((u) => u.name)
    },
    // counters: the server's wxauth_* metrics and the sandbox's calls.
    async counters() {
      const text = await (await fetch(`${base}/metrics`)).text()
      const m = {}
      for (const line of text.split('\n')) {
        const r = /^(wxauth_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line)
        if (r) m[r[1]] = Number(r[2])
      }
      const stats = await this.json('GET', '/sandbox/v1/stats')
      for (const [k, v] of Object.entries(stats.calls)) m[`sandbox ${k}`] = v
      return m
    },
  }
}

// http(route, status) names the request counter of one route and status.
export const http = (route, status) => `wxauth_http_requests_total{route="${route}",status="${status}"}`
export const sandbox = (path) => `sandbox ${path}`

// delta answers what changed between two counters() snapshots, non-zero only.
export function delta(before, after) {
  const d = {}
  for (const [k, v] of Object.entries(after)) {
    const change = v - (before[k] || 0)
    if (change && !k.includes('_seconds')) d[k] = change
  }
  return d
}

// short names a delta for the summary: {"POST /v1/miniprogram/login 200": 1, …}.
export function short(d) {
  const out = {}
  for (const [k, v] of Object.entries(d)) {
    const r = /^wxauth_http_requests_total\{route="([^"]+)",status="(\d+)"\}$/.exec(k)
    if (r) out[`${r[1]} ${r[2]}`] = v
    else if (k.startsWith('sandbox ')) out[`WeChat ${k.slice(8)}`] = v
  }
  return out
}

// ---------------------------------------------------------------------------
// Fakes of the mini program runtime.

function httpRequest({ url, method = 'GET', data, header = {} }) {
  method = method.toUpperCase()
  let body
  if (data != null) {
    if (method === 'GET') {
      const qs = typeof data === 'string' ? data : new URLSearchParams(data).toString()
      if (qs) url += (url.includes('?') ? '&' : '?') + qs
    } else {
      body = typeof data === 'string' ? data : JSON.stringify(data)
      // wx.request's default header: content-type application/json.
      if (!Object.keys(header).some((k) => k.toLowerCase() === 'content-type')) header = { ...header, 'content-type': 'application/json' }
    }
  }
  return fetch(url, { method, headers: header, body }).then(async (r) => {
    const text = await r.text()
    let parsed = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // wx.request keeps non-JSON as a string
    }
    const h = {}
    r.headers.forEach((v, k) => { h[k] = v })
    return { statusCode: r.status, data: parsed, header: h }
  })
}

// fakeMiniProgram makes a `wx` (or `uni`) object for one sandbox user.
// calls counts what the page's code asked of the runtime; headers records the
// Authorization header of every request (for the third-origin check).
export function fakeMiniProgram(server, user, { kind = 'wx', appid = MP_APPID } = {}) {
  const store = new Map()
  const calls = { login: 0, request: 0 }
  const requests = []
  const later = (fn) => setImmediate(fn)
  const api = {
    calls,
    store,
    requests,
    user,
    login(opts) {
      calls.login++
      if (kind === 'uni' && opts.provider !== 'weixin') {
        return later(() => opts.fail({ errMsg: 'login:fail provider' }))
      }
      fetch(`${server.base}/sandbox/v1/miniprogram/code`, {
        method: 'POST',
        body: JSON.stringify({ appid, user: api.user }),
      }).then((r) => r.json()).then(
        (d) => opts.success({ code: d.code, errMsg: 'login:ok' }),
        (e) => opts.fail({ errMsg: `login:fail ${e.message}` }),
      )
    },
    request(opts) {
      calls.request++
      requests.push({ url: opts.url, method: opts.method, authorization: opts.header && opts.header.Authorization })
      httpRequest(opts).then(
        (res) => opts.success && opts.success({ ...res, errMsg: 'request:ok' }),
        (e) => opts.fail && opts.fail({ errMsg: `request:fail ${e.message}` }),
      )
    },
    getStorage({ key, success, fail }) {
      later(() => (store.has(key) ? success && success({ data: store.get(key) }) : fail && fail({ errMsg: 'getStorage:fail data not found' })))
    },
    setStorage({ key, data, success }) {
      later(() => { store.set(key, data); if (success) success({}) })
    },
    removeStorage({ key, success }) {
      later(() => { store.delete(key); if (success) success({}) })
    },
  }
  return api
}

// tinyServer starts a local HTTP server whose handler answers every request;
// it records each request (method, path, authorization).
export async function tinyServer(handler) {
  const seen = []
  const srv = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => {
      const entry = { method: req.method, path: req.url, authorization: req.headers.authorization || null, body }
      seen.push(entry)
      const [status, data, headers] = handler(entry)
      res.writeHead(status, { 'Content-Type': 'application/json', ...(headers || {}) })
      res.end(data === undefined ? '' : JSON.stringify(data))
    })
  })
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  return {
    base: `http://127.0.0.1:${srv.address().port}`,
    seen,
    count: (path) => seen.filter((e) => e.path.split('?')[0] === path).length,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r) }),
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// summary collects the call counts each case observed, printed at the end.
const rows = []
export function record(name, counts) {
  rows.push([name, counts])
}
export function printSummary(title) {
  const lines = [`\n=== ${title}: calls observed (server /metrics, sandbox /sandbox/v1/stats, fakes) ===`]
  for (const [name, counts] of rows) lines.push(`- ${name}\n    ${JSON.stringify(counts)}`)
  console.log(lines.join('\n'))
}
