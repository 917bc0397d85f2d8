// Events (`login`, `refresh`, `logout`, `loginRequired`) and the
// onLoginRequired option, called once per logged-out spell.

export const EVENTS = ['login', 'refresh', 'logout', 'loginRequired']

export function createEvents(onLoginRequired) {
  const listeners = Object.fromEntries(EVENTS.map((e) => [e, new Set()]))
  let loginRequiredNotified = false

  function emit(event, payload) {
    for (const fn of [...listeners[event]]) {
      try {
        fn(payload)
      } catch (err) {
        setTimeout(() => { throw err }) // a listener's bug must not break a login
      }
    }
  }

  return {
    emit,

    // notifyLoginRequired tells the page once, until rearm (a new session).
    async notifyLoginRequired(info) {
      if (loginRequiredNotified) return
      loginRequiredNotified = true
      emit('loginRequired', info)
      if (typeof onLoginRequired === 'function') await onLoginRequired(info)
    },

    rearm() {
      loginRequiredNotified = false
    },

    on(event, fn) {
      if (!listeners[event]) throw new TypeError(`wxauth: unknown event ${JSON.stringify(event)}; events: ${EVENTS.join(', ')}`)
      listeners[event].add(fn)
      return () => listeners[event].delete(fn)
    },

    off(event, fn) {
      if (listeners[event]) listeners[event].delete(fn)
    },
  }
}
