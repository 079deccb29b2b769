// @vexil/sdk/slim: the caller initializes the engine with `init(module | bytes)`.
export * from './client.js';
export * from './engine.js';
