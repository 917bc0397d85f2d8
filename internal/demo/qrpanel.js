// The "scan to log in" panels (docs/qrlogin.md, docs/follow-login.md):
// create a QR login ticket for one app, show its picture, follow the ticket
// by long poll and hand the login to onLogin once confirmed. Nothing in it
// is about one kind of app: the mini program panel and the Official
// Account's follow-to-login panel are this code with another app and other
// words (i18n.js, keys qr_<words>_… and the shared qr_…).

import { t as word } from './i18n.js'

// qrPanel wires section (with .qr-title, .qr-intro, .qr-start, .qr-image,
// .qr-status inside) to app: api is wxauth's base URL, words names the
// panel's own words in i18n.js (qr_<words>_title, _intro, _alt, _scanned),
// onLogin receives the delivered login (a token response, or
// {bind_required, bind_ticket}).
export function qrPanel(section, { api, app, words, onLogin }) {
  const own = (k) => word(`qr_${words}_${k}`)
  const t = {
    title: own('title'), intro: own('intro'), alt: own('alt'), scanned: own('scanned'),
    show: word('qr_show'), again: word('qr_again'), waiting: word('qr_waiting'), confirmed: word('qr_confirmed'),
    canceled: word('qr_canceled'), expired: word('qr_expired'), failed: word('qr_failed'),
  }
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
    // A new ticket: 'waiting' again only once its picture is drawn (the
    // code exists at WeChat only then).
    section.dataset.state = 'drawing'
    delete section.dataset.ticket
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
