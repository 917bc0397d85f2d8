// wxauth's OpenID Provider with openid-client (panva, OpenID Certified) as
// the relying party, used as an application uses it: discovery, an
// authorization URL with PKCE S256, state and nonce, the code grant (the ID
// token's iss, aud, nonce and EdDSA signature checked by openid-client
// against the JWKS), userinfo, refresh, introspection, revocation and
// RP-initiated logout; and the refusals a relying party must see.
// docs/oidc.md "Relying parties".

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as client from 'openid-client'
import { Browser, skipReason, startServer } from './support.js'

const RP_SECRET = 'rp-secret-0123456789abcdef'
const RP_BACK = 'https://rp.example.com/cb'
const RP_BYE = 'https://rp.example.com/bye'
const SPA_BACK = 'https://spa.example.com/cb'

// Two clients: rp (confidential) and spa (public, PKCE, no secret).
const CONFIG = `oidc:
  clients:
    - client_id: rp
      name: Relying Party
      redirect_uris: [${RP_BACK}]
      post_logout_redirect_uris: [${RP_BYE}]
    - client_id: spa
      public: true
      redirect_uris: [${SPA_BACK}]
      scopes: [profile]
`

// http: wxauth dev serves plain HTTP on loopback, which openid-client
// refuses unless told; the ID token's signature is checked against the
// JWKS (openid-client skips it by default for a token received over TLS).
const execute = [client.allowInsecureRequests, client.enableNonRepudiationChecks]

// rejects asserts that promise fails with an error whose field (error for
// the server's OAuth error, code for openid-client's own) is want.
async function rejects(promise, field, want, what) {
  await assert.rejects(promise, (err) => {
    assert.equal(err[field], want, `${what}: ${err.constructor.name} ${err.message} (${field} ${err[field]}) cause ${err.cause?.message ?? JSON.stringify(err.cause)}`)
    return true
  }, what)
}

describe('openid-client against wxauth', { skip: skipReason() }, () => {
  let server
  let issuer
  // secrets are the codes and tokens the tests saw, none of which the
  // server's log may show.
  const secrets = new Set([RP_SECRET])

  before(async () => {
    // A reuse_grace of 0 makes a rotated refresh token refused at once (by
    // default a replay within 30 s answers the same successor).
    server = await startServer(CONFIG, { WXAUTH_OIDC_CLIENT_RP_SECRET: RP_SECRET, WXAUTH_REUSE_GRACE: '0s' })
    issuer = new URL(server.base)
  })
  after(async () => { if (server) await server.stop() })

  const rp = (auth = client.ClientSecretBasic(RP_SECRET)) => client.discovery(issuer, 'rp', undefined, auth, { execute })

  // login runs one authorization as an application does, up to the
  // redirect_uri; it answers what the code grant needs.
  async function authorize(config, browser, user, { redirectURI = RP_BACK, scope = 'openid profile' } = {}) {
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectURI,
      scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    })
    const back = await browser.signIn(url, user)
    secrets.add(back.searchParams.get('code'))
    return { back, verifier, state, nonce }
  }

  async function login(config, browser, user, opts) {
    const a = await authorize(config, browser, user, opts)
    const tokens = await client.authorizationCodeGrant(config, a.back, {
      pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce,
    })
    secrets.add(tokens.access_token).add(tokens.refresh_token).add(tokens.id_token)
    return { ...a, tokens }
  }

  test('discovery names wxauth as the issuer and EdDSA for ID tokens', async () => {
    const config = await rp()
    const m = config.serverMetadata()
    assert.equal(m.issuer, server.base)
    assert.ok(m.id_token_signing_alg_values_supported.includes('EdDSA'), JSON.stringify(m.id_token_signing_alg_values_supported))
    assert.ok(m.code_challenge_methods_supported.includes('S256'))
    // openid-client then checks the iss of every authorization response
    // (RFC 9207), which wxauth sends.
    assert.equal(m.authorization_response_iss_parameter_supported, true)
    for (const e of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'revocation_endpoint',
      'introspection_endpoint', 'end_session_endpoint']) {
      assert.ok(m[e]?.startsWith(server.base), `${e} = ${m[e]}`)
    }
  })

  test('login: PKCE, state, nonce; the ID token verified; userinfo; introspection', async () => {
    const config = await rp()
    const browser = new Browser(server.base)
    const user = await server.newUser('oc')
    const { back, tokens, nonce } = await login(config, browser, user)
    assert.equal(back.origin + back.pathname, RP_BACK)
    assert.equal(back.searchParams.get('iss'), server.base)

    const claims = tokens.claims()
    assert.equal(claims.iss, server.base)
    assert.equal(claims.aud, 'rp')
    assert.equal(claims.azp, 'rp')
    assert.equal(claims.nonce, nonce)
    assert.ok(claims.sub && claims.at_hash && claims.auth_time && claims.sid, JSON.stringify(claims))
    assert.equal(tokens.token_type.toLowerCase(), 'bearer')
    assert.ok(tokens.access_token && tokens.refresh_token && tokens.expiresIn() > 0)
    assert.deepEqual(tokens.scope?.split(' ').sort(), ['openid', 'profile'])
    const [header] = tokens.id_token.split('.')
    assert.equal(JSON.parse(Buffer.from(header, 'base64url')).alg, 'EdDSA')

    // fetchUserInfo checks that sub is the ID token's.
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
    assert.equal(info.sub, claims.sub)
    assert.ok(info.name, JSON.stringify(info))

    for (const token of [tokens.access_token, tokens.refresh_token]) {
      const intro = await client.tokenIntrospection(config, token)
      assert.equal(intro.active, true, JSON.stringify(intro))
      assert.equal(intro.client_id, 'rp')
      assert.equal(intro.sub, claims.sub)
      assert.ok(intro.scope.split(' ').includes('openid'), intro.scope)
    }
    const junk = await client.tokenIntrospection(config, 'not-a-token')
    assert.deepEqual(junk, { active: false })

    // Single sign-on: the same browser gets the next code at once.
    const again = await login(config, browser, 'nobody-needed')
    assert.equal(again.tokens.claims().sub, claims.sub)
    assert.equal(again.tokens.claims().auth_time, claims.auth_time)
  })

  test('an ID token whose signature does not verify is refused by openid-client', async () => {
    const config = await rp()
    // A network between the client and the token endpoint that changes
    // one byte of the ID token's signature.
    config[client.customFetch] = async (url, options) => {
      const res = await fetch(url, options)
      if (new URL(url).pathname !== '/oauth2/token' || res.status !== 200) return res
      const body = await res.json()
      const [h, p, s] = body.id_token.split('.')
      const sig = Buffer.from(s, 'base64url')
      sig[0] ^= 1
      body.id_token = [h, p, sig.toString('base64url')].join('.')
      return new Response(JSON.stringify(body), { status: 200, headers: res.headers })
    }
    const a = await authorize(config, new Browser(server.base), await server.newUser('sig'))
    await assert.rejects(client.authorizationCodeGrant(config, a.back, { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce }),
      (err) => {
        assert.equal(err.code, 'OAUTH_INVALID_RESPONSE', err.message)
        assert.match(err.cause?.message, /signature verification failed/)
        return true
      }, 'forged signature')
  })

  test('an ID token with another nonce than the one sent is refused by openid-client', async () => {
    const config = await rp()
    const a = await authorize(config, new Browser(server.base), await server.newUser('nonce'))
    await assert.rejects(client.authorizationCodeGrant(config, a.back, { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: client.randomNonce() }),
      (err) => {
        assert.equal(err.code, 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', err.message)
        assert.equal(err.cause?.cause?.claim, 'nonce')
        return true
      }, 'nonce mismatch')
  })

  test('refresh rotates: the new token works, the old one is invalid_grant', async () => {
    const config = await rp()
    const { tokens } = await login(config, new Browser(server.base), await server.newUser('rot'))
    const sub = tokens.claims().sub
    const next = await client.refreshTokenGrant(config, tokens.refresh_token)
    assert.ok(next.access_token && next.refresh_token)
    assert.notEqual(next.refresh_token, tokens.refresh_token)
    if (next.id_token) assert.equal(next.claims().sub, sub)
    assert.equal((await client.fetchUserInfo(config, next.access_token, sub)).sub, sub)

    await rejects(client.refreshTokenGrant(config, tokens.refresh_token), 'error', 'invalid_grant', 'the rotated refresh token')
    // The reuse ended the session (docs/sessions.md): the successor too.
    await rejects(client.refreshTokenGrant(config, next.refresh_token), 'error', 'invalid_grant', 'the successor after a reuse')
    assert.equal((await client.tokenIntrospection(config, next.access_token)).active, false)
  })

  test('revocation: the refresh token and the session end', async () => {
    const config = await rp()
    const { tokens } = await login(config, new Browser(server.base), await server.newUser('rev'))
    await client.tokenRevocation(config, tokens.refresh_token)
    await rejects(client.refreshTokenGrant(config, tokens.refresh_token), 'error', 'invalid_grant', 'a revoked refresh token')
    assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false })
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub), 'userinfo after revocation')
    // Revoking an unknown token is not an error (RFC 7009 §2.2).
    await client.tokenRevocation(config, 'not-a-token')
  })

  test('revoking the access token ends the session; another client\'s revocation changes nothing', async () => {
    const config = await rp()
    const spa = await client.discovery(issuer, 'spa', undefined, client.None(), { execute })
    const { tokens } = await login(config, new Browser(server.base), await server.newUser('rat'))
    await client.tokenRevocation(spa, tokens.access_token)
    await client.tokenRevocation(spa, tokens.refresh_token)
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true, "spa's revocation ended rp's session")

    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' })
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false)
    await rejects(client.refreshTokenGrant(config, tokens.refresh_token), 'error', 'invalid_grant', 'refresh after the access token\'s revocation')
  })

  test('prompt=none without a session at wxauth is login_required', async () => {
    const config = await rp()
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: RP_BACK, scope: 'openid', state, nonce: client.randomNonce(), prompt: 'none',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    })
    const page = await new Browser(server.base).follow(url.href)
    assert.ok(page.left, `prompt=none answered ${page.status} on ${page.url}`)
    await assert.rejects(client.authorizationCodeGrant(config, page.left, { expectedState: state }), (err) => {
      assert.ok(err instanceof client.AuthorizationResponseError, `${err.constructor.name} ${err.message}`)
      assert.equal(err.error, 'login_required')
      return true
    })
  })

  test('RP-initiated logout: back to post_logout_redirect_uri; the tokens and the SSO end', async () => {
    const config = await rp()
    const browser = new Browser(server.base)
    const user = await server.newUser('bye')
    const { tokens } = await login(config, browser, user)
    const state = client.randomState()
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: RP_BYE, state })
    const page = await browser.follow(url.href)
    assert.ok(page.left, `end_session answered ${page.status} on ${page.url}: ${page.body?.slice(0, 300)}`)
    assert.equal(page.left.origin + page.left.pathname, RP_BYE)
    assert.equal(page.left.searchParams.get('state'), state)

    await rejects(client.refreshTokenGrant(config, tokens.refresh_token), 'error', 'invalid_grant', 'refresh after logout')
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false)
    // The browser's OP session is gone: the next authorization shows the
    // sign-in page again instead of answering at once.
    const next = await browser.follow(client.buildAuthorizationUrl(config, {
      redirect_uri: RP_BACK, scope: 'openid', state: client.randomState(), nonce: client.randomNonce(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    }).href)
    assert.equal(next.status, 200, `after logout the authorization answered ${next.status} ${next.left ?? ''}`)
    assert.match(next.body, /id="wechat-login"/)
  })

  test('a wrong client secret is invalid_client', async () => {
    const good = await rp()
    const a = await authorize(good, new Browser(server.base), await server.newUser('sec'))
    // wxauth answers invalid_client with 401 and a Basic challenge (RFC 6749
    // §5.2: a MUST when the client used the Authorization header), which
    // openid-client reports as a WWWAuthenticateChallengeError; the OAuth
    // error is in its response's body.
    for (const [name, auth] of [['client_secret_basic', client.ClientSecretBasic('wrong-secret-0123456789')],
      ['client_secret_post', client.ClientSecretPost('wrong-secret-0123456789')]]) {
      const bad = await rp(auth)
      const err = await client.authorizationCodeGrant(bad, a.back, { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce })
        .then(() => assert.fail(`wrong secret, ${name}: tokens`), (e) => e)
      assert.ok(err instanceof client.WWWAuthenticateChallengeError, `${name}: ${err.constructor.name} ${err.message}`)
      assert.equal(err.status, 401)
      assert.equal(err.cause[0].scheme, 'basic')
      assert.equal((await err.response.json()).error, 'invalid_client')
    }
    // The code was not spent by the refusals.
    const tokens = await client.authorizationCodeGrant(good, a.back, { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce })
    assert.ok(tokens.access_token)
  })

  test('a code used twice is invalid_grant, and the tokens of its first use stop working', async () => {
    const config = await rp(client.ClientSecretPost(RP_SECRET))
    const a = await authorize(config, new Browser(server.base), await server.newUser('twice'))
    const checks = { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce }
    const first = await client.authorizationCodeGrant(config, a.back, checks)
    await rejects(client.authorizationCodeGrant(config, a.back, checks), 'error', 'invalid_grant', 'the code again')
    await rejects(client.refreshTokenGrant(config, first.refresh_token), 'error', 'invalid_grant', "the first use's refresh token")
    assert.equal((await client.tokenIntrospection(config, first.access_token)).active, false)
    await assert.rejects(client.fetchUserInfo(config, first.access_token, first.claims().sub), "userinfo with the first use's access token")
  })

  test('a PKCE verifier that does not match the challenge is invalid_grant', async () => {
    const config = await rp()
    const a = await authorize(config, new Browser(server.base), await server.newUser('pkce'))
    await rejects(client.authorizationCodeGrant(config, a.back, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: a.state, expectedNonce: a.nonce }),
      'error', 'invalid_grant', 'another verifier')
  })

  test('the public client logs in with PKCE and no secret, and refreshes', async () => {
    const config = await client.discovery(issuer, 'spa', undefined, client.None(), { execute })
    const { tokens, nonce } = await login(config, new Browser(server.base), await server.newUser('spa'), { redirectURI: SPA_BACK })
    const claims = tokens.claims()
    assert.equal(claims.aud, 'spa')
    assert.equal(claims.nonce, nonce)
    assert.equal((await client.fetchUserInfo(config, tokens.access_token, claims.sub)).sub, claims.sub)
    const next = await client.refreshTokenGrant(config, tokens.refresh_token)
    assert.notEqual(next.refresh_token, tokens.refresh_token)

    // Without PKCE the public client gets no code: the error comes back to
    // its redirect_uri, where openid-client reports it.
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(config, { redirect_uri: SPA_BACK, scope: 'openid', state, nonce: client.randomNonce() })
    const back = await new Browser(server.base).signIn(url, 'nobody-needed')
    await rejects(client.authorizationCodeGrant(config, back, { expectedState: state }), 'error', 'invalid_request', 'no PKCE')
  })

  test('the server log shows no code, token or secret', () => {
    const log = server.log()
    assert.ok(log.length > 0, 'the server logged nothing')
    assert.ok(secrets.size > 20, `only ${secrets.size} secrets collected`)
    for (const s of secrets) {
      if (s && log.includes(s)) assert.fail(`the log shows ${s.slice(0, 8)}…`)
    }
  })
})
