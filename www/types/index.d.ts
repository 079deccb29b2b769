// @vexil/sdk: Node initializes the engine at import; browsers on the first Client.start (or
// `init(url)`); workers call `init(module)`.
export * from './slim.js';
