// The "scan to log in" panel (docs/qrlogin.md): creates a QR login ticket
// for one app, shows its picture, follows the ticket by long poll and hands
// the tokens to onLogin once confirmed. Nothing in it is about mini
// programs: a panel for another kind of app (an Official Account's
// follow-to-login) is the same code with other strings and another app.
// Visible strings live in one {en, zh} object per panel, picked by
// navigator.language, so that a page-wide translation can take them over.

const lang = () => (/^zh/i.test(navigator.language || '') ? 'zh' : 'en')

export const MINIPROGRAM_STRINGS = {
  en: {
    title: 'Scan with the mini program',
    intro: 'Shows a mini program code. Scan it with WeChat, then confirm in the mini program.',
    show: 'Show the code',
    again: 'Show a new code',
    alt: 'Mini program code to scan with WeChat',
    waiting: 'Waiting for a scan…',
    scanned: 'Scanned. Confirm in the mini program.',
    confirmed: 'Logged in.',
    canceled: 'Cancelled on the phone.',
    expired: 'The code expired.',
    failed: 'The code could not be used',
  },
  zh: {
    title: '用小程序扫码登录',
    intro: '显示小程序码，用微信扫码后在小程序里确认。',
    show: '显示小程序码',
    again: '换一个码',
    alt: '用微信扫描的小程序码',
    waiting: '等待扫码…',
    scanned: '已扫码，请在小程序里确认。',
    confirmed: '已登录。',
    canceled: '已在手机上取消。',
    expired: '小程序码已过期。',
    failed: '无法使用此码',
  },
}

// qrPanel wires section (with .qr-title, .qr-intro, .qr-start, .qr-image,
// .qr-status inside) to app: api is wxauth's base URL, onLogin receives the
// delivered login (a token response, or {bind_required, bind_ticket}).
export function qrPanel(section, { api, app, strings, onLogin }) {
  const t = strings[lang()] || strings.en
  const q = (sel) => section.querySelector(sel)
  const status = q('.qr-status')
  const img = q('.qr-image')
  const start = q('.qr-start')
  q('.qr-title').textContent = t.title
  q('.qr-intro').textContent = t.intro
  start.textContent = t.show
  img.alt = t.alt
  let run = 0 // a newer ticket stops the older one's loop

  const say = (state, text) => {
    section.dataset.state = state
    status.textContent = text
  }

  async function follow(ticket, mine) {
    let after = ''
    for (;;) {
      const url = `${api}/v1/qrlogin/${ticket.ticket}` + (after ? `?after=${after}` : '')
      const res = await fetch(url, { headers: { Authorization: `Bearer ${ticket.poll_token}` } })
      const body = await res.json()
      if (mine !== run) return
      if (!res.ok) return say('failed', `${t.failed}: ${body.error}`)
      after = body.status
      say(body.status, t[body.status] || body.status)
      if (body.status === 'confirmed') return onLogin(body.login)
      if (body.status === 'canceled' || body.status === 'expired') {
        img.hidden = true
        start.textContent = t.again
        return
      }
    }
  }

  start.addEventListener('click', async () => {
    const mine = ++run
    start.textContent = t.again
    try {
      const res = await fetch(`${api}/v1/qrlogin`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ app }),
      })
      const ticket = await res.json()
      if (!res.ok) return say('failed', `${t.failed}: ${ticket.error}`)
      section.dataset.ticket = ticket.ticket
      // Fetched, not linked: the page may talk to wxauth on another origin.
      const pic = await fetch(api + ticket.image_url)
      if (!pic.ok) return say('failed', `${t.failed}: ${(await pic.json()).error}`)
      if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src)
      img.src = URL.createObjectURL(await pic.blob())
      img.hidden = false
      say('waiting', t.waiting)
      await follow(ticket, mine)
    } catch (e) {
      if (mine === run) say('failed', `${t.failed}: ${e.message}`)
    }
  })
}
