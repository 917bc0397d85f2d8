// The SDK's wx adapter against WeChat's own typings (miniprogram-api-typings). MiniProgramApi (index.d.ts) is what
// src/platform.js calls, with the arguments it passes and the answer fields
// it reads (tsconfig.json holds the code to it). Here each of its calls is
// made on the real `wx` with exactly those arguments: tsc fails when the
// adapter passes what wx does not take, or reads what wx does not answer.
// (Calls, not an assignment of wx to MiniProgramApi: the typings' promisified
// generic overloads would make any assignment pass.)

import { createClient, type MiniProgramApi } from 'wxauth-client'

type Arg<K extends keyof MiniProgramApi> = Parameters<NonNullable<MiniProgramApi[K]>>[0]
declare function arg<K extends keyof MiniProgramApi>(name: K): Arg<K>

wx.request(arg('request'))
wx.login(arg('login'))
wx.getStorage(arg('getStorage'))
wx.setStorage(arg('setStorage'))
wx.removeStorage(arg('removeStorage'))
wx.getStorageSync(arg('getStorageSync'))
wx.setStorageSync(arg('getStorageSync'), 'value')
wx.removeStorageSync(arg('removeStorageSync'))
wx.getSetting(arg('getSetting'))
wx.authorize(arg('authorize'))
wx.showModal(arg('showModal'))
wx.openSetting(arg('openSetting'))

const auth = createClient({ baseURL: 'https://auth.example.com', app: 'mp', platform: 'wx', wx })
console.log(auth.platform)
