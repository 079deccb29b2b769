// One cold start in a fresh Node process: from before the client's module is imported to its
// first answer, for `@vexil/sdk`'s Client or Flipt's FliptClient, against a running server.
// Prints the milliseconds. Run by sdk-vs-flipt.mjs.
//
//   node benches/js/first-start.mjs vexil|flipt URL NAMESPACE

const started = performance.now();
const [which, url, namespace] = process.argv.slice(2);
const request = { flagKey: 'feature-0', entityId: 'ann@vexil.dev', context: { email: 'ann@vexil.dev' } };
let answer;
if (which === 'vexil') {
  const { Client } = await import('../../www/src/index.node.js');
  const client = await Client.start({ url, namespace, stream: false });
  answer = client.evaluateVariant(request);
  client.close();
} else {
  const { FliptClient } = await import(new URL('../../www/node_modules/@flipt-io/flipt-client-js/dist/node/index.mjs', import.meta.url));
  const warn = console.warn;
  console.warn = () => {}; // the wasm loader warns about its own deprecated init signature
  const client = await FliptClient.init({ url, namespace, updateInterval: 3600 });
  console.warn = warn;
  answer = client.evaluateVariant(request);
  client.close();
}
const took = performance.now() - started;
if (answer.variantKey !== 'treatment') throw new Error(`${which} answered ${JSON.stringify(answer)}`);
console.log(took.toFixed(2));
