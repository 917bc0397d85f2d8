// wxauth's OpenID Provider with Auth.js (@auth/core, the engine of
// NextAuth v5 and the other Auth.js frameworks) as the relying party: the
// provider object of docs/oidc.md "Auth.js", driven through Auth(request,
// config) as a framework drives it: CSRF token, sign-in, wxauth's sign-in
// and the sandbox's consent, the callback (code grant, PKCE, state, nonce,
// ID token), then the session.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Auth } from '@auth/core'
import { Browser, Jar, skipReason, startServer } from './support.js'

const APP = 'http://localhost:3000' // the application; never listened on: Auth() is called directly
const AUTHJS_SECRET = 'authjs-secret-0123456789abcdef'

const CONFIG = `oidc:
  clients:
    - client_id: authjs
      name: Auth.js app
      redirect_uris: [${APP}/auth/callback/wxauth]
`

describe('Auth.js against wxauth', { skip: skipReason() }, () => {
  let server
  before(async () => {
    server = await startServer(CONFIG, { WXAUTH_OIDC_CLIENT_AUTHJS_SECRET: AUTHJS_SECRET })
  })
  after(async () => { if (server) await server.stop() })

  // app is the application: Auth.js's handler under /auth, with what the
  // jwt callback saw on sign-in (the tokens and the ID token's claims).
  function app() {
    const seen = { errors: [] }
    const config = {
      logger: { error: (err) => seen.errors.push(err) },
      basePath: '/auth',
      trustHost: true,
      secret: 'the-application-secret-0123456789abcdef',
      providers: [{
        // The provider object of docs/oidc.md "Auth.js".
        id: 'wxauth',
        name: 'WeChat',
        type: 'oidc',
        issuer: server.base,
        clientId: 'authjs',
        clientSecret: AUTHJS_SECRET,
        checks: ['pkce', 'state', 'nonce'],
      }],
      callbacks: {
        jwt({ token, account, profile }) {
          if (account) Object.assign(seen, { account, profile })
          return token
        },
      },
    }
    const jar = new Jar()
    return {
      seen,
      jar,
      // request sends one request to Auth.js with the application's cookies.
      async request(path, init = {}) {
        const url = new URL(path, APP).href
        const headers = new Headers(init.headers)
        const cookie = jar.header(url)
        if (cookie) headers.set('Cookie', cookie)
        const res = await Auth(new Request(url, { ...init, headers }), config)
        jar.keep(res, url)
        return res
      },
    }
  }

  // signIn is the application's "Sign in with WeChat" button: the form
  // post with the CSRF token, answered with a redirect to wxauth.
  async function signIn(a) {
    const { csrfToken } = await (await a.request('/auth/csrf')).json()
    const res = await a.request('/auth/signin/wxauth', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrfToken, callbackUrl: `${APP}/dashboard` }),
    })
    assert.equal(res.status, 302, `sign-in answered ${res.status} ${await res.text()}`)
    return new URL(res.headers.get('Location'))
  }

  test('sign-in with WeChat: authorize, callback, session', async () => {
    const a = app()
    const authURL = await signIn(a)
    assert.equal(authURL.origin + authURL.pathname, `${server.base}/oauth2/authorize`)
    const q = authURL.searchParams
    assert.equal(q.get('client_id'), 'authjs')
    assert.equal(q.get('code_challenge_method'), 'S256')
    assert.ok(q.get('state') && q.get('nonce') && q.get('code_challenge'), authURL.href)

    const user = await server.newUser('authjs')
    const back = await new Browser(server.base).signIn(authURL, user)
    assert.equal(back.origin + back.pathname, `${APP}/auth/callback/wxauth`)

    const done = await a.request(back.pathname + back.search)
    assert.equal(done.status, 302, await done.text())
    assert.equal(done.headers.get('Location'), `${APP}/dashboard`)
    assert.ok(a.jar.cookies.has('authjs.session-token'), `cookies: ${[...a.jar.cookies.keys()]}`)

    // What Auth.js took from wxauth: the ID token's claims as the profile
    // (iss, aud, nonce checked by Auth.js) and the tokens.
    const { account, profile } = a.seen
    assert.equal(account.provider, 'wxauth')
    assert.equal(profile.iss, server.base)
    assert.equal(profile.aud, 'authjs')
    assert.equal(profile.nonce, q.get('nonce'))
    assert.equal(account.providerAccountId, profile.sub)
    assert.ok(account.refresh_token && account.id_token, JSON.stringify(Object.keys(account)))
    const info = await fetch(`${server.base}/oauth2/userinfo`, { headers: { Authorization: `Bearer ${account.access_token}` } })
    assert.equal(info.status, 200)
    assert.equal((await info.json()).sub, profile.sub)

    const session = await (await a.request('/auth/session')).json()
    assert.ok(session.user?.name, JSON.stringify(session))
    assert.equal(session.user.name, profile.name)
    assert.equal(session.user.image, profile.picture)
    assert.deepEqual(a.seen.errors, [])
  })

  test('a callback without the sign-in\'s cookies is refused by Auth.js', async () => {
    const authURL = await signIn(app())
    const back = await new Browser(server.base).signIn(authURL, await server.newUser('authjs'))
    // Another browser (no state, PKCE or nonce cookie) brings the code.
    const other = app()
    const res = await other.request(back.pathname + back.search)
    assert.equal(res.status, 302)
    assert.match(res.headers.get('Location'), /\/auth\/error\?error=/)
    assert.equal(other.seen.account, undefined)
    assert.deepEqual(other.seen.errors.map((e) => e.type), ['InvalidCheck'])
    assert.ok(!other.jar.cookies.has('authjs.session-token'))
  })
})
