// A program using wxauth-client by name, as users import it (ES module):
// each member with the types a user relies on. `@ts-expect-error` lines are
// misuses the types must refuse; tsc fails if one is accepted.

import createClientDefault, {
  createClient, memoryStorage, originOf, tokenLifetimeMs, STORAGE_KEYS, VERIFIER_KEY, WxAuthError,
  type Client, type RedirectResult, type TokenResponse, type BindRequiredResponse, type Response,
} from 'wxauth-client'

const auth: Client = createClient({
  baseURL: 'https://auth.example.com',
  apiBaseURL: 'https://api.example.com',
  app: 'mp',
  platform: 'web',
  storage: memoryStorage(),
  onLoginRequired: (info) => { if (info.bindRequired) console.log(info.bindTicket) },
})
const same: typeof createClient = createClientDefault

// @ts-expect-error baseURL is required
createClient({ app: 'mp' })
// @ts-expect-error platform is one of wx, uni, web
createClient({ baseURL: 'https://a.example', platform: 'alipay' })
// The token in a header of the server's token_header instead of Authorization: Bearer.
createClient({ baseURL: 'https://a.example', tokenHeader: 'X-Wx-Ticket' })
// @ts-expect-error tokenHeader is a header name
createClient({ baseURL: 'https://a.example', tokenHeader: true })

async function use(): Promise<void> {
  const login: TokenResponse | BindRequiredResponse = await auth.login({ inviter: 'u1' })
  if ('bind_required' in login) await auth.bind({ bindTicket: login.bind_ticket, phoneCode: 'c' })
  else console.log(login.access_token, login.expires_in, login.user?.id)

  const res: Response<{ id: string }> = await auth.request<{ id: string }>({ url: '/v1/me', method: 'GET', header: { 'X-A': 'b' }, timeout: 5000 })
  const id: string = res.data.id
  const status: number = res.statusCode
  await auth.request('/public')
  await auth.request({ url: '/public', auth: false })
  // @ts-expect-error request needs a url
  await auth.request({ method: 'GET' })

  const refreshed: TokenResponse = await auth.refresh()
  const token: string = await auth.getAccessToken()
  await auth.logout()
  await auth.logout({ all: true })

  const url: string = await auth.startWeChatLogin({ returnTo: '/orders', scope: 'snsapi_userinfo', inviter: 'u1', app: 'oa' })
  const r: RedirectResult = await auth.handleRedirect()
  if (r.bindRequired && r.bindTicket) await auth.bind({ bindTicket: r.bindTicket, phone: '+8613800000000', smsCode: '123456' })
  // @ts-expect-error bind takes a phone with its SMS code, or a phoneCode
  await auth.bind({ bindTicket: 't', phone: '+8613800000000' })
  await auth.sendSmsCode({ bindTicket: 't', phone: '+8613800000000' })
  // @ts-expect-error a code is sent only for a bind ticket
  await auth.sendSmsCode({ phone: '+8613800000000' })

  const granted: boolean = await auth.ensureScope('scope.userLocation', { title: 't', content: 'c' })

  const off = auth.on('refresh', (t) => console.log(t.access_token))
  off()
  auth.on('logout', ({ all }) => console.log(all))
  auth.off('login', (t) => console.log(t.session_id))
  // @ts-expect-error unknown event
  auth.on('tokens', () => {})

  try {
    await auth.request('/x')
  } catch (err) {
    if (err instanceof WxAuthError) {
      const code: string = err.code
      const s: number = err.status
      console.log(code, s, err.retryAfter, err.wechatErrcode, err.response?.statusCode)
    }
  }
  console.log(id, status, refreshed, token, url, granted, same)

  // QR login: the PC page, then the mini program opened by the code.
  const ac = new AbortController()
  const qr = await auth.qrLogin({ app: 'mp', signal: ac.signal, onStatus: (st) => console.log(st.status, st.imageURL, st.ticket) })
  if ('bind_required' in qr) console.log(qr.bind_ticket)
  else console.log(qr.access_token)
  const who = await auth.scanQR('ticket')
  console.log(who.browser, who.place, (await auth.confirmQR('ticket')).status, (await auth.cancelQR('ticket')).status)
  // @ts-expect-error the ticket is required
  auth.scanQR()
}

const origin: string | null = originOf('https://a.example/x')
const lifetime: number = tokenLifetimeMs('a.b.c')
const key: 'wxauth.access_token' = STORAGE_KEYS.accessToken
const verifierKey: 'wxauth.code_verifier' = VERIFIER_KEY
console.log(use, origin, lifetime, key, verifierKey)

// The global fetch is a FetchLike.
createClient({ baseURL: 'https://auth.example.com', fetch, window: globalThis })
