// Node, ESM: the core and the OpenFeature server provider, as an app imports them.
//   node main.mjs SERVER_URL  →  {"sdk": <answer>, "openfeature": <variant>}
import { OpenFeature } from '@openfeature/server-sdk';
import { Client } from '@vexil/sdk';
import { VexilProvider } from '@vexil/sdk/openfeature/server';

import { request } from '../request.js';

const url = process.argv[2];

const client = await Client.start({ url, stream: false });
const sdk = client.evaluateVariant(request);
client.close();

const provider = await VexilProvider.start({ url, stream: false });
await OpenFeature.setProviderAndWait(provider);
const openfeature = await OpenFeature.getClient().getStringValue(request.flagKey, 'none', {
  targetingKey: request.entityId,
  ...request.context,
});
await OpenFeature.close();

console.log(JSON.stringify({ sdk, openfeature }));
