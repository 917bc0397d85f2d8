// Types of wxauth-client (the contract: README.md). `npm run typecheck`
// holds the code to them: index.js and src/ are type-checked against this
// file (tsconfig.json), types/usage.ts uses the API as a program would, and
// types/wx and types/uni hold MiniProgramApi to the real wx and uni typings.

export type Platform = 'wx' | 'uni' | 'web'

/** Where the tokens live. Each method may return a Promise. */
export interface TokenStorage {
  get(key: string): string | null | undefined | Promise<string | null | undefined>
  set(key: string, value: string): void | Promise<unknown>
  remove(key: string): void | Promise<unknown>
}

export interface LoginRequiredInfo {
  /** The error that ended the session, when there was one. */
  error?: WxAuthError
  /** Mini program under `registration: bind_phone`: the user must bind a phone first. */
  bindRequired?: boolean
  bindTicket?: string
}

export interface ClientOptions {
  /** The wxauth server, e.g. `https://auth.example.com`. */
  baseURL: string
  /** Where `request` sends relative URLs (default `baseURL`). The token goes to these two origins only. */
  apiBaseURL?: string
  /** The app key configured in wxauth (`mp`, `oa`, `web`). Optional when the server can tell. */
  app?: string
  /** Detected when omitted: `uni` (uni-app mini program), `wx` (WeChat mini program), else `web`. */
  platform?: Platform
  /** Token storage; default wx/uni storage, or localStorage (memory if unavailable). */
  storage?: TokenStorage
  /** H5 (and a mini program user who must bind a phone): no session can be restored. May return a Promise. */
  onLoginRequired?: (info: LoginRequiredInfo) => void | Promise<void>
  /** The `wx` object to use (default the global `wx`). */
  wx?: MiniProgramApi
  /** The `uni` object to use (default the global `uni`). */
  uni?: MiniProgramApi
  /** Web: the window to use (location, history, localStorage, sessionStorage, crypto, fetch); default globalThis. */
  window?: any
  /** Web: the fetch to use (default window.fetch). */
  fetch?: FetchLike
  /**
   * The header the access token goes in, as the raw value: `X-Wx-Ticket` sends
   * `X-Wx-Ticket: <token>` instead of `Authorization: Bearer <token>`. The server
   * must be configured with the same `token_header`. Default: `Authorization: Bearer`.
   */
  tokenHeader?: string
  /**
   * H5 inside WeChat: notice that the phone's WeChat account changed under a kept session.
   * At most once per `every`, `handleRedirect()` runs a silent snsapi_base round trip and
   * asks wxauth whether the account is still the session's user (docs/h5.md).
   */
  checkAccount?: CheckAccountOptions
}

export interface CheckAccountOptions {
  /** How often at most: milliseconds, or a duration such as `"24h"`, `"30m"`, `"90s"`, `"7d"`. */
  every: number | string
}

/** What the SDK uses of fetch (the global fetch is one); typed here so that a mini program project needs no DOM types. */
export type FetchLike = (url: string, init: {
  method: string
  headers: Record<string, string>
  body?: any
  signal?: any
}) => Promise<{
  status: number
  text(): Promise<string>
  headers: { forEach(fn: (value: string, key: string) => void): void }
}>

/** A `fail` callback's argument. */
export interface MiniProgramFail {
  errMsg: string
}

/** The authorization settings of `getSetting` and `openSetting`. */
export interface AuthSettingResult {
  /** Scope name → granted; read as `authSetting[scope]`. */
  authSetting: object
}

/**
 * What the SDK uses of `wx` (WeChat mini programs) or `uni` (uni-app): each
 * member with the arguments the SDK passes and the answer fields it reads.
 * The real `wx` and `uni` (miniprogram-api-typings, @dcloudio/types) are
 * checked to be assignable to it. Storage: the asynchronous methods when
 * present, else the Sync ones. ensureScope needs getSetting, authorize,
 * showModal and openSetting.
 */
export interface MiniProgramApi {
  request: (options: {
    url: string
    method?: 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'TRACE' | 'CONNECT'
    data?: string | object | ArrayBuffer
    header?: Record<string, string>
    timeout?: number
    dataType?: 'json'
    success?: (res: { statusCode: number; data: string | object | ArrayBuffer; header: object }) => void
    fail?: (err: MiniProgramFail) => void
  }) => unknown
  login: (options: {
    /** uni only: always 'weixin'. */
    provider?: 'weixin'
    success?: (res: { code: string }) => void
    fail?: (err: MiniProgramFail) => void
  }) => unknown
  getStorage?: (options: { key: string; success?: (res: { data: any }) => void; fail?: (err: MiniProgramFail) => void }) => unknown
  setStorage?: (options: { key: string; data: any; success?: (res: unknown) => void; fail?: (err: MiniProgramFail) => void }) => unknown
  removeStorage?: (options: { key: string; success?: (res: unknown) => void; fail?: (err: MiniProgramFail) => void }) => unknown
  getStorageSync?: (key: string) => any
  setStorageSync?: (key: string, data: any) => void
  removeStorageSync?: (key: string) => void
  getSetting?: (options: { success?: (res: AuthSettingResult) => void; fail?: (err: MiniProgramFail) => void }) => unknown
  authorize?: (options: { scope: string; success?: (res: unknown) => void; fail?: (err: MiniProgramFail) => void }) => unknown
  showModal?: (options: {
    title?: string
    content?: string
    confirmText?: string
    cancelText?: string
    success?: (res: { confirm: boolean }) => void
    fail?: (err: MiniProgramFail) => void
  }) => unknown
  openSetting?: (options: { success?: (res: AuthSettingResult) => void; fail?: (err: MiniProgramFail) => void }) => unknown
}

export interface UserBrief {
  id: string
  nickname: string
  avatar_url: string
  phone_bound: boolean
}

/** docs/api.md "Token response". */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
  refresh_expires_in: number
  session_id: string
  user?: UserBrief
  is_new_user: boolean
  /** H5 login and bind: where the user was going. */
  return_to?: string
}

/** A login answered for a WeChat user who must bind a phone first (`registration: bind_phone`). */
export interface BindRequiredResponse {
  bind_required: true
  bind_ticket: string
  return_to?: string
}

export interface RequestOptions {
  /** Absolute, or relative to `apiBaseURL`. */
  url: string
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS' | string
  /** GET: query parameters. Otherwise the body: objects are sent as JSON. */
  data?: any
  header?: Record<string, string>
  /** Milliseconds. */
  timeout?: number
  /** `false`: send without the token and without refresh or retry (public endpoints). */
  auth?: boolean
}

export interface Response<T = any> {
  statusCode: number
  data: T
  header: Record<string, string>
}

export interface RedirectResult {
  loggedIn: boolean
  bindRequired: boolean
  bindTicket: string | null
  returnTo: string | null
  /** The user declined on WeChat's page. */
  denied?: boolean
  user?: UserBrief
  isNewUser?: boolean
  /**
   * With `checkAccount`: `started` (the page is leaving for the silent round trip: draw nothing),
   * `same` (the session's user is still in WeChat), `switched` (another person: the old session
   * was ended and this one logged in, or `bindRequired`), `failed` (the session is kept).
   */
  accountCheck?: 'started' | 'same' | 'switched' | 'failed'
  /** Why a check failed, when it did. */
  error?: WxAuthError | null
}

export interface StartWeChatLoginOptions {
  /** Where to go after the login: a same-site path or an allowed URL. Default: this page. */
  returnTo?: string
  /** `snsapi_base` (default for an official account), `snsapi_userinfo`, `snsapi_login`. */
  scope?: string
  /** A friend's user id, recorded on users created by this login. */
  inviter?: string
  /** Overrides the client's `app` for this login. */
  app?: string
}

export type BindOptions =
  | { bindTicket: string; phone: string; smsCode: string }
  | { bindTicket: string; phoneCode: string }

/** A QR login's progress (docs/qrlogin.md), for `qrLogin`'s `onStatus`. */
export interface QRLoginStatus {
  /** `created` (show `imageURL`), then `waiting`, `scanned`, `confirmed`, `canceled` or `expired`. */
  status: 'created' | 'waiting' | 'scanned' | 'confirmed' | 'canceled' | 'expired'
  ticket: string
  /** The mini program code to show (`<img src>`). */
  imageURL: string
  /** Seconds the ticket has left. */
  expiresIn?: number
}

/** The part of an `AbortSignal` that `qrLogin` uses. */
export interface AbortSignalLike {
  readonly aborted: boolean
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
}

export interface QRLoginOptions {
  /** The mini program whose code to show; default: the client's `app`. */
  app?: string
  onStatus?: (status: QRLoginStatus) => void
  /**
   * Stops following between two polls (rejects with `aborted`): an `AbortSignal`, or
   * anything shaped like one (mini program runtimes have no DOM types).
   */
  signal?: AbortSignalLike
}

/** What the phone is shown after a scan: who asks to log in. */
export interface QRScanInfo {
  app: string
  /** e.g. "Chrome on Windows". */
  browser: string
  /** The asking address, masked ("203.0.113.*"); absent when unknown. */
  place?: string
  created_at: string
  expires_in: number
}

export interface ScopeModal {
  title?: string
  content?: string
  confirmText?: string
  cancelText?: string
}

export interface Events {
  login: TokenResponse
  refresh: TokenResponse
  logout: { all: boolean }
  loginRequired: LoginRequiredInfo
}

export interface Client {
  readonly platform: Platform
  readonly baseURL: string
  readonly apiBaseURL: string
  /** Mini program: wx.login → POST /v1/miniprogram/login. Concurrent calls share one login. */
  login(options?: { inviter?: string }): Promise<TokenResponse | BindRequiredResponse>
  /** Like wx.request / fetch, with the token, one refresh, one retry. Rejects on status ≥ 400. */
  request<T = any>(options: RequestOptions | string): Promise<Response<T>>
  /** Forces one refresh (shared with any refresh in flight). */
  refresh(): Promise<TokenResponse>
  /** POST /v1/logout, then clears the tokens even if the call fails (and then rejects). */
  logout(options?: { all?: boolean }): Promise<void>
  /**
   * DELETE /v1/me: deletes the user's account and, on 204, clears the tokens (event
   * `logout`). Rejects with code `reauthentication_required` (403) when the session's
   * login is not recent: log in again, then retry. Without a session: `login_required`.
   */
  deleteAccount(): Promise<void>
  /** A valid access token, refreshed first if it expires within min(60 s, lifetime / 10). */
  getAccessToken(): Promise<string>
  /** H5: sends the browser to WeChat (PKCE S256, redirect_uri = this page). Resolves to the URL. */
  startWeChatLogin(options?: StartWeChatLoginOptions): Promise<string>
  /** H5: on the page WeChat sends the user back to. */
  handleRedirect(): Promise<RedirectResult>
  /** POST /v1/bind; stores the tokens. */
  bind(options: BindOptions): Promise<TokenResponse>
  /** POST /v1/sms/send for the login's bind ticket (purpose `bind` by default); the code works only with that ticket. */
  sendSmsCode(options: { bindTicket: string; phone: string; purpose?: string }): Promise<void>
  /** PC page: POST /v1/qrlogin, then follows the ticket (long poll) until the phone confirms; stores the tokens. Rejects with `qr_canceled` or `qr_expired`. */
  qrLogin(options?: QRLoginOptions): Promise<TokenResponse | BindRequiredResponse>
  /** Mini program opened by the code: POST /v1/qrlogin/{ticket}/scan with this session (logging in first). */
  scanQR(ticket: string): Promise<QRScanInfo>
  /** The user confirms: the PC page gets a session of this user. */
  confirmQR(ticket: string): Promise<{ status: 'confirmed' }>
  /** The user refuses: the PC page is told. */
  cancelQR(ticket: string): Promise<{ status: 'canceled' }>
  /** Mini program: getSetting → authorize → (refused) showModal → openSetting. Concurrent calls share one flow. */
  ensureScope(scope: string, modal?: ScopeModal): Promise<boolean>
  /** Subscribes; answers a function that unsubscribes. */
  on<E extends keyof Events>(event: E, fn: (payload: Events[E]) => void): () => void
  off<E extends keyof Events>(event: E, fn: (payload: Events[E]) => void): void
}

export declare class WxAuthError extends Error {
  constructor(code: string, status: number, message?: string, extra?: object)
  name: 'WxAuthError'
  /** The contract's error code (`invalid_code`, `token_expired`, …), or the SDK's own: `network_error`, `wx_login_failed`, `bind_required`, `not_supported`, `logged_out`, `qr_canceled`, `qr_expired`, `aborted`, `http_<status>`. */
  code: string
  /** The HTTP status; 0 when no HTTP answer was involved. */
  status: number
  /** The answer that failed, when there was one. */
  response?: Response
  /** Seconds, from Retry-After (429 rate_limited). */
  retryAfter?: number
  wechatErrcode?: number
  /** `bind_required`: the ticket for `bind`. */
  bindTicket?: string
  /** `session_key_expired`: why the login that followed failed, if it did. */
  cause?: unknown
}

export declare const STORAGE_KEYS: {
  readonly accessToken: 'wxauth.access_token'
  readonly refreshToken: 'wxauth.refresh_token'
  readonly expiresAt: 'wxauth.expires_at'
}
/** sessionStorage key of the PKCE code_verifier of an H5 login in flight. */
export declare const VERIFIER_KEY: 'wxauth.code_verifier'

export declare function createClient(options: ClientOptions): Client
export default createClient

/** The origin (`https://host[:port]`) of a plain http(s) URL, or null. */
export declare function originOf(url: string): string | null
/** exp − iat of a JWT, in milliseconds (0 if unreadable). */
export declare function tokenLifetimeMs(jwt: string): number
/** A TokenStorage in memory. */
export declare function memoryStorage(): TokenStorage
