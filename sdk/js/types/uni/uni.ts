// The SDK's uni adapter against uni-app's own typings (@dcloudio/types). MiniProgramApi (index.d.ts) is what
// src/platform.js calls, with the arguments it passes and the answer fields
// it reads (tsconfig.json holds the code to it). Here each of its calls is
// made on the real `uni` with exactly those arguments: tsc fails when the
// adapter passes what uni does not take, or reads what uni does not answer.
// (Calls, not an assignment of uni to MiniProgramApi: the typings' promisified
// generic overloads would make any assignment pass.)

import { createClient, type MiniProgramApi } from 'wxauth-client'

type Arg<K extends keyof MiniProgramApi> = Parameters<NonNullable<MiniProgramApi[K]>>[0]
declare function arg<K extends keyof MiniProgramApi>(name: K): Arg<K>

uni.request(arg('request'))
uni.login(arg('login'))
uni.getStorage(arg('getStorage'))
uni.setStorage(arg('setStorage'))
uni.removeStorage(arg('removeStorage'))
uni.getStorageSync(arg('getStorageSync'))
uni.setStorageSync(arg('getStorageSync'), 'value')
uni.removeStorageSync(arg('removeStorageSync'))
uni.getSetting(arg('getSetting'))
uni.authorize(arg('authorize'))
uni.showModal(arg('showModal'))
uni.openSetting(arg('openSetting'))

const auth = createClient({ baseURL: 'https://auth.example.com', app: 'mp', platform: 'uni', uni })
console.log(auth.platform)
