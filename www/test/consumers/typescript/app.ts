// Every entry point of the package, used as typed code uses it: `tsc --noEmit` with each
// module resolution (tsconfig.*.json), libraries checked too (`skipLibCheck: false`).
import { Client, Engine, VexilError, init, isEngineReady } from '@vexil/sdk';
import { Client as SlimClient, initFromModule } from '@vexil/sdk/slim';
import { VexilProvider } from '@vexil/sdk/openfeature/server';
import { VexilWebProvider } from '@vexil/sdk/openfeature/web';

const client: Client = await Client.start({ url: 'http://127.0.0.1:8080', namespace: 'default', stream: false });
const variant = client.evaluateVariant({ flagKey: 'new-checkout', entityId: 'user-7', context: { plan: 'pro' } });
const key: string = variant.variantKey;
const matched: boolean = variant.match;
const enabled: boolean = client.evaluateBoolean({ flagKey: 'dark-mode', entityId: 'user-7' }).enabled;
const off = client.on('change', ({ digest }) => console.log(digest));
off();
client.close();

try {
  await init(new URL('https://example.com/vexil_wasm_bg.wasm'));
} catch (error) {
  if (error instanceof VexilError) console.log(error.code);
}
const ready: boolean = isEngineReady();
const engines: [typeof Engine, typeof SlimClient, typeof initFromModule] = [Engine, SlimClient, initFromModule];
const server: Promise<VexilProvider> = VexilProvider.start({ url: 'http://127.0.0.1:8080' });
const web: Promise<VexilWebProvider> = VexilWebProvider.start({ url: 'http://127.0.0.1:8080' });

export { key, matched, enabled, ready, engines, server, web };
