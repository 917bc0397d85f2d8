// The token store: the tokens of one session, kept in the storage the
// client was given under STORAGE_KEYS.
//
// The web shares localStorage with other tabs, which refresh too, so there
// the store reads storage every time. A mini program has one client:
// storage is read once, then the copy in memory is the truth.

import { tokenLifetimeMs } from './jwt.js'

export const STORAGE_KEYS = Object.freeze({
  accessToken: 'wxauth.access_token',
  refreshToken: 'wxauth.refresh_token',
  expiresAt: 'wxauth.expires_at',
})

// A token is refreshed before use when it expires within
// min(MAX_MARGIN_MS, a tenth of its lifetime).
const MAX_MARGIN_MS = 60000

// createTokenStore: storage {get, set, remove} (each may answer a Promise);
// onSave runs whenever tokens are saved (a session exists again).
export function createTokenStore({ storage, miniProgram, onSave }) {
  let generation = 0 // +1 at every new session (login, bind, H5 login)
  let mem = null // tokens as last read or written (mini programs)
  let loaded = null // the first read of storage (mini programs)

  async function readStorage() {
    const [access, refresh, expiresAt] = await Promise.all([
      storage.get(STORAGE_KEYS.accessToken),
      storage.get(STORAGE_KEYS.refreshToken),
      storage.get(STORAGE_KEYS.expiresAt),
    ])
    return { access: access || null, refresh: refresh || null, expiresAt: Number(expiresAt) || 0, generation }
  }

  // read answers {access, refresh, expiresAt, generation}.
  async function read() {
    if (!miniProgram) return (mem = await readStorage())
    if (mem) return mem
    if (!loaded) loaded = readStorage().then((t) => mem || (mem = t))
    return loaded
  }

  // save keeps a token response; newSession marks a login (not a refresh).
  async function save(res, newSession) {
    if (newSession) generation++
    const expiresAt = Date.now() + (Number(res.expires_in) || 0) * 1000
    mem = { access: res.access_token, refresh: res.refresh_token || (mem && mem.refresh) || null, expiresAt, generation }
    onSave()
    await Promise.all([
      storage.set(STORAGE_KEYS.accessToken, mem.access),
      mem.refresh ? storage.set(STORAGE_KEYS.refreshToken, mem.refresh) : null,
      storage.set(STORAGE_KEYS.expiresAt, String(expiresAt)),
    ])
  }

  async function clear() {
    mem = { access: null, refresh: null, expiresAt: 0, generation }
    await Promise.all(Object.values(STORAGE_KEYS).map((k) => storage.remove(k)))
  }

  return {
    read,
    save,
    clear,

    // clearIfCurrent clears the tokens only if they are still the ones that
    // failed; if another request already replaced them, they stay.
    async clearIfCurrent(access) {
      const t = await read()
      if (t.access && t.access === access) await clear()
    },

    // expiring: t expires within the margin, so refresh before using it.
    expiring(t) {
      if (!t.expiresAt) return false
      const margin = Math.min(MAX_MARGIN_MS, tokenLifetimeMs(t.access) / 10)
      return t.expiresAt - Date.now() <= margin
    },

    generation: () => generation,
  }
}
