// Workers and workerd: the slim entry; the caller passes the wasm module to `init()`.
export * from './slim.js';
