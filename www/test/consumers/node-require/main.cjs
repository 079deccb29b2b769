// Node, CommonJS: `require` of the ESM-only package (Node 20.19 and later, 22.12 and later).
//   node main.cjs SERVER_URL  →  <answer>
const { Client } = require('@vexil/sdk');

const { request } = require('../request.js');

Client.start({ url: process.argv[2], stream: false }).then((client) => {
  console.log(JSON.stringify(client.evaluateVariant(request)));
  client.close();
});
