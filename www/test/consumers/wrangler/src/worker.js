// Workers: the engine imported as a compiled module (Workers compile no wasm at run time), handed
// to `init` once; each request evaluates against `VEXIL_URL`.
import { Client, init } from '@vexil/sdk';
import wasm from '@vexil/sdk/pkg/vexil_wasm_bg.wasm';

import { request } from '../../request.js';

init(wasm);

export default {
  async fetch(_request, env) {
    const client = await Client.start({ url: env.VEXIL_URL, stream: false });
    try {
      return Response.json(client.evaluateVariant(request));
    } finally {
      client.close();
    }
  },
};
