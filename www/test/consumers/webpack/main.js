// webpack 5: the SDK as an app imports it (webpack emits the engine it finds through
// `new URL(..., import.meta.url)` as an asset).
import { evaluate } from '../browser-app.js';

evaluate();
