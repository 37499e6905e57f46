// anthropic_client.js - the @anthropic-ai/sdk SDK (clients/node/package.json)
// making each exchange: messages.create, streamed when the body says stream.
// See common.js for the command line and the output.
'use strict';

const Anthropic = require('@anthropic-ai/sdk');
const { run } = require('./common.js');

run(async (ex) => {
  const client = new Anthropic({ apiKey: ex.apiKey, baseURL: ex.url.origin });
  if (ex.url.pathname === '/v1/messages') return client.messages.create(ex.body, { headers: ex.headers });
  throw new Error('no anthropic SDK call for ' + ex.url.pathname);
});
