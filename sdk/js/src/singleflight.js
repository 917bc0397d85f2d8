// singleFlight wraps an async function so that calls made while one is in
// flight share it: one login, one refresh, one redirect exchange at a time.
// Once it settles (a failure included) the next call starts afresh, so a
// failure frees the lock.
//
// flight.current() is the promise in flight, or null: other flows wait for
// it (a refresh waits for a login) without starting one.

export const noop = () => {}

export function singleFlight(fn) {
  let current = null
  function flight(...args) {
    if (!current) {
      const p = fn(...args)
      current = p
      p.finally(() => { if (current === p) current = null }).catch(noop)
    }
    return current
  }
  flight.current = () => current
  return flight
}
