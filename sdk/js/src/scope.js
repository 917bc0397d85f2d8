// ensureScope: the mini program permission dance — getSetting, authorize,
// and after a refusal a showModal whose confirm opens openSetting.

import { WxAuthError } from './errors.js'
import { noop } from './singleflight.js'

// createEnsureScope: ui is the platform's {getSetting, authorize,
// showModalThenOpenSetting}, or null where there is none (the web).
export function createEnsureScope(ui) {
  const scopeFlows = new Map()
  let scopeQueue = Promise.resolve()

  return function ensureScope(scope, modal = {}) {
    if (!ui) return Promise.reject(new WxAuthError('not_supported', 0, 'wxauth: ensureScope needs wx/uni getSetting and authorize'))
    if (scopeFlows.has(scope)) return scopeFlows.get(scope)
    // One flow per scope; flows of different scopes take turns, so that two
    // dialogs never stack.
    const p = scopeQueue.then(async () => {
      const setting = await ui.getSetting().catch(() => null)
      if (setting && setting.authSetting && setting.authSetting[scope] === true) return true
      try {
        await ui.authorize(scope)
        return true
      } catch (e) {
        // refused now, or earlier (then WeChat refuses at once, without asking)
      }
      return ui.showModalThenOpenSetting(scope, {
        title: modal.title || '需要你的授权',
        content: modal.content || '请在设置中打开相应权限后继续。',
        confirmText: modal.confirmText || '去设置',
        cancelText: modal.cancelText || '取消',
      })
    })
    scopeFlows.set(scope, p)
    scopeQueue = p.catch(noop)
    p.finally(() => scopeFlows.delete(scope)).catch(noop)
    return p
  }
}
