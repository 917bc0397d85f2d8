// Test support: a real `wxauth dev` (the binary in $WXAUTH_BIN, a free
// port, a configuration file registering the OIDC clients) and a browser
// made of fetch: a cookie jar, redirects followed by hand on wxauth's origin,
// the sign-in page's button pressed and the sandbox's WeChat consent
// approved, stopping at the first redirect that leaves wxauth (the relying
// party's redirect_uri).

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// skipReason is why the tests skip, or false. Only a missing WXAUTH_BIN
// skips, and not under WXAUTH_TEST_OIDC_NODE=required (CI), where it fails.
export function skipReason() {
  if (process.env.WXAUTH_BIN) return false
  if (process.env.WXAUTH_TEST_OIDC_NODE === 'required') {
    throw new Error('WXAUTH_TEST_OIDC_NODE=required but WXAUTH_BIN is not set: build one with go build -o /tmp/wxauth ./cmd/wxauth')
  }
  return 'WXAUTH_BIN is not set: build wxauth (go build -o /tmp/wxauth ./cmd/wxauth) and run with WXAUTH_BIN=/tmp/wxauth'
}

const children = new Set()
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

// startServer runs `wxauth dev --config FILE` with the YAML text config and
// the extra variables env, and answers once it prints its origin.
export async function startServer(config, env = {}) {
  const data = mkdtempSync(join(tmpdir(), 'wxauth-oidc-node-'))
  const file = join(data, 'wxauth.yaml')
  writeFileSync(file, config)
  const child = spawn(process.env.WXAUTH_BIN, ['dev', '--addr', '127.0.0.1:0', '--data', join(data, 'data'), '--config', file], {
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
    // log is what the server wrote to standard error so far.
    log: () => log,
    async stop() {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
      children.delete(child)
      rmSync(data, { recursive: true, force: true })
    },
    // newUser adds a sandbox (WeChat) test user and answers its name.
    async newUser(prefix) {
      const res = await fetch(`${base}/sandbox/v1/users`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `${prefix}${Math.random().toString(36).slice(2, 8)}` }),
      })
      if (res.status !== 200 && res.status !== 201) throw new Error(`POST /sandbox/v1/users: ${res.status} ${await res.text()}`)
      return (await res.json()).name
    },
  }
}

const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'

// Jar keeps the cookies of one origin (name, value, path; host-only, as
// wxauth and Auth.js set them).
export class Jar {
  constructor() {
    this.cookies = new Map() // name → {value, path}
  }

  header(url) {
    const path = new URL(url).pathname
    const pairs = []
    for (const [name, c] of this.cookies) {
      if (path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)) pairs.push(`${name}=${c.value}`)
    }
    return pairs.join('; ')
  }

  keep(res, url) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim())
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq)
      const value = pair.slice(eq + 1)
      let path = new URL(url).pathname.replace(/\/[^/]*$/, '') || '/'
      let gone = value === ''
      for (const a of attrs) {
        const [k, v = ''] = a.split('=')
        if (k.toLowerCase() === 'path') path = v
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) gone = true
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) gone = true
      }
      if (gone) this.cookies.delete(name)
      else this.cookies.set(name, { value, path })
    }
  }
}

// Browser is a desktop browser on wxauth's origin: a cookie jar, and
// redirects followed by hand.
export class Browser {
  constructor(origin) {
    this.origin = new URL(origin).origin
    this.jar = new Jar()
  }

  // fetch is one request, no redirect followed.
  async fetch(url, init = {}) {
    if (new URL(url).origin !== this.origin) throw new Error(`the browser left wxauth for ${url}`)
    const headers = new Headers(init.headers)
    headers.set('User-Agent', DESKTOP_UA)
    headers.set('Accept-Language', 'en')
    const cookie = this.jar.header(url)
    if (cookie) headers.set('Cookie', cookie)
    const res = await fetch(url, { ...init, headers, redirect: 'manual' })
    this.jar.keep(res, url)
    return res
  }

  // follow GETs url and follows redirects while they stay on wxauth's
  // origin. It answers {status, url, body} of the last page, or {left}:
  // the URL of a redirect elsewhere (the relying party).
  async follow(url) {
    for (let i = 0; i < 10; i++) {
      const res = await this.fetch(url)
      if (res.status >= 300 && res.status < 400) {
        const next = new URL(res.headers.get('Location'), url)
        await res.arrayBuffer()
        if (next.origin !== this.origin) return { status: res.status, url, left: next }
        url = next.href
        continue
      }
      return { status: res.status, url, body: await res.text() }
    }
    throw new Error(`more than 10 redirects from ${url}`)
  }

  // signIn goes from the relying party's authorization URL through
  // wxauth's sign-in page and the sandbox's WeChat consent (approved as
  // user) to the relying party, and answers the URL it lands on (the
  // redirect_uri with code, state and iss). With single sign-on wxauth
  // answers at once and no page shows.
  async signIn(authURL, user) {
    let page = await this.follow(authURL.href || authURL)
    if (page.left) return page.left
    const button = /id="wechat-login" href="([^"]+)"/.exec(page.body)
    if (!button) throw new Error(`no sign-in button on ${page.url} (${page.status}): ${page.body.slice(0, 400)}`)
    page = await this.follow(new URL(unescapeHTML(button[1]), page.url).href)
    if (page.left) return page.left
    if (!new URL(page.url).pathname.startsWith('/sandbox/open/connect/')) {
      throw new Error(`expected WeChat's consent page, got ${page.url} (${page.status}): ${page.body.slice(0, 400)}`)
    }
    // The consent page's "Allow" button posts user=NAME to the page's own
    // URL and goes where the answer says (sandbox/consent.go).
    const res = await this.fetch(page.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user }),
    })
    const decision = await res.json()
    if (!decision.redirect) throw new Error(`WeChat's consent answered ${res.status} ${JSON.stringify(decision)}`)
    page = await this.follow(decision.redirect)
    if (!page.left) throw new Error(`the sign-in ended on ${page.url} (${page.status}): ${page.body.slice(0, 400)}`)
    return page.left
  }
}

function unescapeHTML(s) {
  return s.replace(/&(amp|lt|gt|quot|#39|#x27|#43);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#43': '+' })[e])
}
