// A CommonJS program: require('wxauth-client') resolves to dist/ (the
// package's "require" condition) and its types.
import wxauth = require('wxauth-client')

const auth: wxauth.Client = wxauth.createClient({ baseURL: 'https://auth.example.com', platform: 'wx' })
const same: typeof wxauth.createClient = wxauth.default
// @ts-expect-error baseURL is required
wxauth.createClient({})
console.log(auth, same)
