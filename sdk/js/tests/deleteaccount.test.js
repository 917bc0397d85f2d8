// deleteAccount() against a real `wxauth dev` whose recent-login window
// (account.delete_recent_login) is 2 s: refused with
// reauthentication_required after it, done with a fresh login; a later
// login is a new user.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, STORAGE_KEYS } from '../index.js'
import { fakeMiniProgram, printSummary, startServer } from './support.js'

let srv

before(async () => { srv = await startServer({ WXAUTH_ACCOUNT_DELETE_RECENT_LOGIN: '2s' }) })
after(async () => {
  await srv?.stop()
  printSummary('deleteaccount.test.js')
})

test('deleteAccount: reauthentication_required after the window, then deleted, then a new user', async () => {
  const wx = fakeMiniProgram(srv, await srv.newUser('deleter'))
  const auth = createClient({ baseURL: srv.base, app: 'mp', wx })
  const first = await auth.login()
  await new Promise((r) => setTimeout(r, 2100))
  await assert.rejects(auth.deleteAccount(), (err) => err.code === 'reauthentication_required' && err.status === 403)
  assert.equal((await auth.request({ url: '/v1/me' })).data.id, first.user.id, 'tokens kept after the refusal')

  await auth.login()
  const events = []
  auth.on('logout', () => events.push('logout'))
  await auth.deleteAccount()
  assert.deepEqual(events, ['logout'])
  for (const k of Object.values(STORAGE_KEYS)) assert.ok(!wx.store.get(k), `storage ${k} cleared`)

  const again = await auth.login()
  assert.notEqual(again.user.id, first.user.id)
  assert.equal(again.is_new_user, true)
})
