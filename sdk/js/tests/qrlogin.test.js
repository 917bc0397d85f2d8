// QR login against a real `wxauth dev`: a PC page (web client) follows a
// ticket while a mini program (wx client on the sandbox) scans it and
// confirms or cancels; the PC page ends with a session of the phone's user.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, memoryStorage } from '../index.js'
import { MP_APPID, fakeMiniProgram, printSummary, startServer } from './support.js'

let srv

before(async () => { srv = await startServer() })
after(async () => {
  await srv?.stop()
  printSummary('qrlogin.test.js')
})

// phoneFor is the mini program opened by the code the PC page shows: the
// sandbox's scan control says which scene it carries.
async function phoneFor(status, user) {
  await fetch(status.imageURL) // the PC page shows the code: the sandbox draws it
  const scan = await srv.json('POST', '/sandbox/v1/miniprogram/scan', { appid: MP_APPID, user, scene: status.ticket })
  assert.equal(scan.scene, status.ticket)
  return createClient({ baseURL: srv.base, app: 'mp', wx: fakeMiniProgram(srv, user) })
}

function pcClient() {
  return createClient({ baseURL: srv.base, app: 'mp', platform: 'web', storage: memoryStorage(), fetch })
}

test('scan and confirm: the PC page gets a session of the phone user', async () => {
  const user = await srv.newUser('qr')
  const pc = pcClient()
  const seen = []
  let phone = null
  const logins = []
  pc.on('login', (r) => logins.push(r))
  const done = pc.qrLogin({
    onStatus: async (st) => {
      seen.push(st.status)
      if (st.status === 'created') {
        assert.match(st.ticket, /^[A-Za-z0-9]{32}$/)
        phone = await phoneFor(st, user)
        const who = await phone.scanQR(st.ticket)
        assert.equal(who.app, 'mp')
        assert.ok(who.browser)
      }
      if (st.status === 'scanned') await phone.confirmQR(st.ticket)
    },
  })
  const res = await done
  assert.deepEqual(seen.filter((s) => s !== 'waiting'), ['created', 'scanned', 'confirmed'])
  assert.ok(res.access_token && res.refresh_token)
  assert.equal(logins.length, 1)
  const me = await pc.request({ url: '/v1/me' })
  const phoneMe = await phone.request({ url: '/v1/me' })
  assert.equal(me.data.id, phoneMe.data.id)
})

test('cancel on the phone rejects qrLogin with qr_canceled; the ticket is then refused', async () => {
  const user = await srv.newUser('qrc')
  const pc = pcClient()
  let phone = null
  let ticket = ''
  await assert.rejects(pc.qrLogin({
    onStatus: async (st) => {
      if (st.status === 'created') {
        ticket = st.ticket
        phone = await phoneFor(st, user)
        await phone.scanQR(st.ticket)
      }
      if (st.status === 'scanned') await phone.cancelQR(st.ticket)
    },
  }), (err) => err.code === 'qr_canceled')
  await assert.rejects(phone.confirmQR(ticket), (err) => err.code === 'ticket_conflict' && err.status === 409)
})

test('a second user cannot take a scanned code', async () => {
  const pc = pcClient()
  const ac = new AbortController()
  let ticket = ''
  const following = pc.qrLogin({
    signal: ac.signal,
    onStatus: async (st) => {
      if (st.status !== 'created') return
      ticket = st.ticket
      const first = await phoneFor(st, await srv.newUser('qra'))
      await first.scanQR(ticket)
      const second = await phoneFor(st, await srv.newUser('qrb'))
      await assert.rejects(second.scanQR(ticket), (err) => err.code === 'ticket_conflict')
      ac.abort()
    },
  })
  await assert.rejects(following, (err) => err.code === 'aborted')
})
