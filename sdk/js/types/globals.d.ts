// The runtime's own objects as src/platform.js sees them (tsconfig.json
// only): injected as variables in mini programs, absent elsewhere.
declare const wx: import('../index.js').MiniProgramApi | undefined
declare const uni: import('../index.js').MiniProgramApi | undefined
