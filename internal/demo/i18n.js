// The demo page's words in English and Chinese, picked by the browser's
// language (navigator.languages: the first that is zh* or en; else
// English). One table per language with the same keys (the browser test
// holds them to it). Elements name their words with data-i18n (text) or
// data-i18n-placeholder; scripts call t(key, {vars}). A panel added to the
// page adds its keys to both tables.

export const messages = {
  en: {
    title: 'wxauth demo',
    subtitle: 'WeChat H5 login against',
    signing_in: 'Signing in…',
    checking_account: 'Checking your WeChat account…',
    loading_profile: 'Loading your profile…',
    login_heading: 'Log in',
    login_lead: "Sends you to WeChat's authorization page (the sandbox's consent page in wxauth dev) and back here.",
    app_label: 'App',
    app_oa: 'oa — official account (in WeChat)',
    app_web: 'web — website QR login (the default outside WeChat)',
    scope_label: 'Scope',
    scope_userinfo: 'snsapi_userinfo — nickname and avatar (consent page)',
    scope_base: 'snsapi_base — openid only (silent)',
    scope_login: 'snsapi_login — QR login',
    login_button: 'Log in with WeChat',
    bind_heading: 'Bind your phone',
    bind_lead: 'This WeChat account is new here, and this service asks for a phone number before it creates an account. If the number already has an account, your WeChat is linked to it.',
    phone_label: 'Phone',
    send_code: 'Send code',
    send_again: 'Send again in {s}s',
    sms_hint: 'Development: no real SMS is sent. The code goes to the',
    sms_inbox: 'sandbox SMS inbox',
    code_label: 'Code',
    code_placeholder: '6 digits',
    bind_button: 'Bind',
    cancel: 'Cancel',
    user_label: 'user',
    phone_term: 'Phone',
    identities_term: 'WeChat identities',
    member_since: 'Member since',
    sessions_heading: 'Sessions',
    th_app: 'App',
    th_started: 'Started',
    th_last_used: 'Last used',
    requests_heading: 'Requests',
    requests_lead: "Sends 20 GET /v1/me at once through the SDK's auth.request. Once the access token has expired, they share one refresh and each is replayed once.",
    burst_button: 'Send 20 requests',
    logout: 'Log out',
    logout_all: 'Log out everywhere',
    footer: "Runs on the JavaScript SDK (wxauth-client, served under sdk/). Tokens live in this browser's localStorage; the PKCE verifier in sessionStorage. See docs/h5.md.",
    no_nickname: '(no nickname: snsapi_base gives only an openid)',
    not_bound: 'not bound',
    this_browser: 'this browser',
    end_session: 'End',
    burst_sending: 'Sending {n} requests…',
    burst_result: '{ok} of {n} succeeded, refreshes: {r}',
    burst_failed: '; failed: {codes}',
    logged_out: 'Logged out.',
    logged_out_all: 'Logged out everywhere.',
    logged_out_anyway: '— logged out of this browser anyway.',
    declined: 'You declined the WeChat authorization, so nothing was shared with this site. Log in again whenever you like.',
    account_switched: 'The WeChat account on this phone changed: the previous session was ended and you are logged in as the current account.',
    account_check_failed: 'Could not check which WeChat account is on this phone; the session is kept.',
    session_ended: 'Your session has ended. Log in again.',
    state_used: 'This login link is used, expired, or belongs to another browser. Log in again.',
    state_no_verifier: 'This tab did not start this login (its PKCE verifier is missing), so it cannot finish it. Log in again.',
    code_refused: 'WeChat refused the code (used or expired). Log in again.',
    snapshot: "This is WeChat's preview of the page. Open the page fully to log in.",
    wechat_down: 'WeChat did not answer. Log in again in a moment.',
    reload_to_finish: 'Reload the page to finish logging in.',
    no_answer: 'wxauth at {api} did not answer (is it running, and is this page\'s origin in cors_origins?): {msg}',
    bind_expired: 'This bind page has expired. Log in again.',
    country_refused: 'Codes are not sent to numbers of this country.',
    too_many_codes: 'Too many codes for now; try again in {s} s.',
    code_sent: 'A code was sent to {phone}. In development, read it in the sandbox SMS inbox.',
    wrong_code: 'Wrong or expired code. Check it, or send a new one.',
  },
  zh: {
    title: 'wxauth 演示',
    subtitle: '微信 H5 登录，服务地址',
    signing_in: '正在登录…',
    checking_account: '正在确认你的微信账号…',
    loading_profile: '正在加载你的资料…',
    login_heading: '登录',
    login_lead: '将跳转到微信授权页（wxauth dev 中为沙箱的授权页），然后返回本页。',
    app_label: '应用',
    app_oa: 'oa — 公众号（在微信内）',
    app_web: 'web — 网站扫码登录（微信外的默认选项）',
    scope_label: '授权范围',
    scope_userinfo: 'snsapi_userinfo — 昵称和头像（需确认）',
    scope_base: 'snsapi_base — 仅 openid（静默）',
    scope_login: 'snsapi_login — 扫码登录',
    login_button: '微信登录',
    bind_heading: '绑定手机号',
    bind_lead: '这个微信账号是第一次来，本服务在创建账号前需要手机号。如果该号码已有账号，你的微信将关联到那个账号。',
    phone_label: '手机号',
    send_code: '发送验证码',
    send_again: '{s} 秒后重发',
    sms_hint: '开发环境：不会发送真实短信。验证码在',
    sms_inbox: '沙箱短信收件箱',
    code_label: '验证码',
    code_placeholder: '6 位数字',
    bind_button: '绑定',
    cancel: '取消',
    user_label: '用户',
    phone_term: '手机号',
    identities_term: '微信身份',
    member_since: '注册时间',
    sessions_heading: '会话',
    th_app: '应用',
    th_started: '开始',
    th_last_used: '最近使用',
    requests_heading: '请求',
    requests_lead: '通过 SDK 的 auth.request 同时发送 20 个 GET /v1/me。访问令牌过期后，它们共用一次刷新，每个请求各重放一次。',
    burst_button: '发送 20 个请求',
    logout: '退出登录',
    logout_all: '退出所有设备',
    footer: '基于 JavaScript SDK（wxauth-client，位于 sdk/）。令牌保存在本浏览器的 localStorage，PKCE 校验码保存在 sessionStorage。参见 docs/h5.md。',
    no_nickname: '（无昵称：snsapi_base 只提供 openid）',
    not_bound: '未绑定',
    this_browser: '本浏览器',
    end_session: '结束',
    burst_sending: '正在发送 {n} 个请求…',
    burst_result: '{n} 个中成功 {ok} 个，刷新 {r} 次',
    burst_failed: '；失败：{codes}',
    logged_out: '已退出登录。',
    logged_out_all: '已在所有设备退出登录。',
    logged_out_anyway: '— 本浏览器已退出登录。',
    declined: '你拒绝了微信授权，没有任何信息分享给本网站。随时可以重新登录。',
    account_switched: '这台手机上的微信账号已更换：之前的会话已结束，现在以当前账号登录。',
    account_check_failed: '无法确认这台手机上的微信账号；会话保持不变。',
    session_ended: '你的会话已结束，请重新登录。',
    state_used: '此登录链接已使用、已过期或属于其他浏览器，请重新登录。',
    state_no_verifier: '此登录不是由本标签页发起的（缺少 PKCE 校验码），无法完成，请重新登录。',
    code_refused: '微信拒绝了该授权码（已使用或已过期），请重新登录。',
    snapshot: '这是微信的网页快照，请打开完整页面后登录。',
    wechat_down: '微信没有响应，请稍后重新登录。',
    reload_to_finish: '刷新页面即可完成登录。',
    no_answer: '{api} 上的 wxauth 没有响应（是否在运行？本页的来源是否在 cors_origins 中？）：{msg}',
    bind_expired: '绑定页已过期，请重新登录。',
    country_refused: '不向该国家或地区的号码发送验证码。',
    too_many_codes: '验证码发送过多，请 {s} 秒后再试。',
    code_sent: '验证码已发送到 {phone}。开发环境中，请在沙箱短信收件箱查看。',
    wrong_code: '验证码错误或已过期。请检查，或重新发送。',
  },
}

// pickLang is the first of the browser's languages the page speaks.
export function pickLang(languages) {
  for (const l of languages || []) {
    const base = String(l).toLowerCase().split(/[-_]/)[0]
    if (base === 'zh' || base === 'en') return base
  }
  return 'en'
}

export const lang = pickLang(typeof navigator !== 'undefined' ? (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]) : [])

// t is the word for key in the page's language, with {name} filled from vars.
export function t(key, vars = {}) {
  const s = messages[lang][key] ?? messages.en[key] ?? key
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`))
}

// translatePage writes the words into the elements that name them, and
// the page's lang attribute.
export function translatePage(root = document) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en'
  document.title = t('title')
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n)
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder)
}
